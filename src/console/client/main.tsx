import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Api, ApiError, can, sessionApi, type Session } from './api.ts';
import { lang, setLang, t } from './i18n.ts';
import { SCREENS } from './screens/index.ts';
import { SignIn } from './screens/sign-in.tsx';
import './styles.css';

function currentScreenId(): string {
  const id = location.hash.replace(/^#\/?/, '');
  return SCREENS.some((s) => s.id === id) ? id : SCREENS[0]!.id;
}

function LangSwitch() {
  return (
    <button type="button" class="link" data-testid="lang-switch" onClick={() => setLang(lang.value === 'en' ? 'zh-CN' : 'en')}>
      {t('lang.switch')}
    </button>
  );
}

function Shell(props: { readonly session: Session; readonly onSignOut: () => void }) {
  const [screenId, setScreenId] = useState(currentScreenId());
  useEffect(() => {
    const onHash = () => setScreenId(currentScreenId());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const api = new Api(props.session);
  const screen = SCREENS.find((s) => s.id === screenId)!;
  const Screen = screen.component;
  return (
    <div class="shell">
      <header>
        <strong>{t('app.title')}</strong>
        <nav>
          {SCREENS.map((s) => (
            <a href={`#/${s.id}`} class={s.id === screenId ? 'current' : ''} data-testid={`nav-${s.id}`}>
              {t(s.title)}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who" title={t('session.scopes', { scopes: props.session.scopes.join(', ') })}>
          {t('session.as', { name: props.session.name })}
        </span>
        <LangSwitch />
        <button
          type="button"
          class="link"
          data-testid="sign-out"
          onClick={() => void sessionApi.signOut(props.session).finally(props.onSignOut)}
        >
          {t('nav.signOut')}
        </button>
      </header>
      <main>{can(props.session, screen.scope) ? <Screen api={api} /> : <p class="notice">{t('common.needsScope', { scope: screen.scope })}</p>}</main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  // read so a language switch re-renders everything
  void lang.value;
  useEffect(() => {
    document.documentElement.lang = lang.value;
    sessionApi.current().then(setSession, (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) setSession(null);
      else setSession(null);
    });
  }, []);
  if (session === undefined) return <p class="notice">{t('common.loading')}</p>;
  if (session === null) return <SignIn onSignedIn={setSession} langSwitch={<LangSwitch />} />;
  return <Shell session={session} onSignOut={() => setSession(null)} />;
}

render(<App />, document.getElementById('app')!);
