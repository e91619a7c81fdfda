import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'preact/hooks';

/** The page's CSP nonce for the <style> elements CodeMirror inserts (src/console/console-routes.ts). */
const STYLE_NONCE = document.querySelector<HTMLMetaElement>('meta[name=calmpay-style-nonce]')?.content ?? '';

export interface RuleError {
  readonly file: string | null;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * One rule file in CodeMirror 6 with YAML highlighting and a lint gutter, showing the rule
 * compiler's errors at their line and column. Editable only when the session may write rules.
 */
export function RuleFileView(props: {
  readonly text: string;
  readonly editable: boolean;
  readonly errors: readonly RuleError[];
  readonly onChange?: (text: string) => void;
  readonly testId: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  useEffect(() => {
    if (host.current === null) return;
    view.current = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: props.text,
        extensions: [
          EditorView.cspNonce.of(STYLE_NONCE),
          basicSetup,
          yaml(),
          lintGutter(),
          EditorState.readOnly.of(!props.editable),
          EditorView.editable.of(props.editable),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current?.(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.current?.destroy();
  }, [props.editable]);
  useEffect(() => {
    const v = view.current;
    if (v === null) return;
    const doc = v.state.doc;
    const diagnostics: Diagnostic[] = props.errors.map((e) => {
      const line = doc.line(Math.min(Math.max(1, e.line), doc.lines));
      const from = Math.min(line.from + Math.max(0, e.column - 1), line.to);
      return { from, to: Math.max(from, line.to), severity: 'error', message: e.message };
    });
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [props.errors]);
  return <div class="editor" ref={host} data-testid={props.testId} />;
}
