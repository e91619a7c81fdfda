import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { sessionApi, type Session } from '../api.ts';
import { t } from '../i18n.ts';

/** The key is posted once to /console/session and dropped; the session cookie carries on. */
export function SignIn(props: { readonly onSignedIn: (s: Session) => void; readonly langSwitch: ComponentChildren }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('key') as HTMLInputElement;
    setBusy(true);
    sessionApi.signIn(input.value).then(
      (s) => {
        input.value = '';
        props.onSignedIn(s);
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof Error ? err.message : String(err));
      },
    );
  };
  return (
    <div class="sign-in">
      <div class="top-right">{props.langSwitch}</div>
      <h1>{t('signIn.title')}</h1>
      <form onSubmit={submit} data-testid="sign-in-form">
        <label>
          {t('signIn.key')}
          <input name="key" type="password" autocomplete="off" spellcheck={false} data-testid="api-key" />
        </label>
        <button type="submit" disabled={busy} data-testid="sign-in">
          {t('signIn.submit')}
        </button>
      </form>
      {error !== null && (
        <p class="error" role="alert" data-testid="sign-in-error">
          {error}
        </p>
      )}
      <p class="help">{t('signIn.help')}</p>
    </div>
  );
}
