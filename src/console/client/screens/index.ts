import type { ComponentType } from 'preact';
import type { Api, Scope } from '../api.ts';
import type { MessageKey } from '../i18n.ts';
import { OverviewScreen } from './overview.tsx';
import { RulesScreen } from './rules.tsx';

/**
 * The console's screens, one module each. A screen names the scope it needs to be shown in the
 * navigation; what it offers inside follows the session's scopes too. The follow-up screens
 * (rule editor, held transfers, cases, accounts) are added here.
 */
export interface Screen {
  readonly id: string;
  readonly title: MessageKey;
  readonly scope: Scope;
  readonly component: ComponentType<{ readonly api: Api }>;
}

export const SCREENS: readonly Screen[] = [
  { id: 'overview', title: 'nav.overview', scope: 'rules:read', component: OverviewScreen },
  { id: 'rules', title: 'nav.rules', scope: 'rules:read', component: RulesScreen },
];
