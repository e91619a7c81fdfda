import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderFeaturesMarkdown } from '../../src/features/features-doc.ts';

describe('docs/features.md', () => {
  it('is the catalogue as generated (regenerate: npm run rules -- features > docs/features.md)', () => {
    expect(readFileSync(new URL('../../docs/features.md', import.meta.url), 'utf8')).toBe(renderFeaturesMarkdown());
  });
});
