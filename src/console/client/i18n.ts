import { signal } from '@preact/signals';

/** The console's own copy, in English and Simplified Chinese (the engine's warnings are in src/i18n). */

export type Lang = 'en' | 'zh-CN';
export const LANGS: readonly Lang[] = ['en', 'zh-CN'];

const en = {
  'app.title': 'calmpay console',
  'nav.overview': 'Overview',
  'nav.rules': 'Rules',
  'nav.signOut': 'Sign out',
  'lang.switch': '中文',
  'signIn.title': 'Sign in to the analyst console',
  'signIn.key': 'API key',
  'signIn.submit': 'Sign in',
  'signIn.devMode': 'API keys are not configured (development mode): every route is open. Sign in with an empty key.',
  'signIn.help': 'The key is sent once; the browser keeps only a session cookie it cannot read.',
  'session.as': 'Signed in as {name}',
  'session.scopes': 'scopes: {scopes}',
  'common.loading': 'Loading…',
  'common.needsScope': 'Your key lacks the scope {scope} this screen needs.',
  'common.error': 'Error: {message}',
  'overview.title': 'Overview',
  'overview.window': 'Last {minutes} minutes',
  'overview.decisions': 'Decisions per minute by action',
  'overview.interventions': 'Legitimate transfers intervened, against the budget',
  'overview.rate': 'rate',
  'overview.budget': 'budget',
  'overview.latency': 'Score latency on this node (since start, {scores} scores)',
  'overview.degraded': 'Degraded decisions per minute by stage',
  'overview.degradedNow': 'Degraded now',
  'overview.normal': 'No degraded mode now',
  'overview.pending': '{n} degraded decisions on this node not yet written to Redis',
  'overview.versions': 'Versions',
  'overview.rulesVersion': 'Rules: {version} (version {id}, {count} rules, activated {at} by {by})',
  'overview.modelVersion': 'Model: {name} {version} (loaded {at})',
  'overview.noModel': 'Model: none (rules alone)',
  'action.allow': 'allow',
  'action.warn': 'warn',
  'action.cool_off': 'cool off',
  'action.block': 'block',
  'band.all': 'all',
  'band.minor': 'minors',
  'band.adult': 'adults',
  'band.elderly': 'elderly',
  'band.unknown': 'age unknown',
  'rules.title': 'Rules',
  'rules.version': 'Active version {id} ({version})',
  'rules.id': 'rule',
  'rules.when': 'when',
  'rules.score': 'score',
  'rules.action': 'action',
  'rules.mode': 'mode',
  'rules.hits': 'hits ({days} days)',
  'rules.precision': 'precision',
  'rules.shadow': 'shadow',
  'rules.active': 'active',
  'rules.flagged': 'spends the budget, catches little',
  'rules.files': 'Rule files',
  'rules.check': 'Check these files',
  'rules.valid': 'The files are valid: {count} rules.',
  'rules.invalid': '{count} errors',
  'rules.readOnly': 'Read only: your key cannot change rules.',
} as const;

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  'app.title': 'calmpay 控制台',
  'nav.overview': '概览',
  'nav.rules': '规则',
  'nav.signOut': '退出登录',
  'lang.switch': 'English',
  'signIn.title': '登录分析师控制台',
  'signIn.key': 'API 密钥',
  'signIn.submit': '登录',
  'signIn.devMode': '未配置 API 密钥（开发模式）：所有接口均开放。密钥留空即可登录。',
  'signIn.help': '密钥只发送一次；浏览器只保存一个它无法读取的会话 Cookie。',
  'session.as': '当前用户：{name}',
  'session.scopes': '权限：{scopes}',
  'common.loading': '加载中…',
  'common.needsScope': '您的密钥缺少此页面所需的权限 {scope}。',
  'common.error': '错误：{message}',
  'overview.title': '概览',
  'overview.window': '最近 {minutes} 分钟',
  'overview.decisions': '每分钟决策数（按处置）',
  'overview.interventions': '正常交易的干预率与预算',
  'overview.rate': '干预率',
  'overview.budget': '预算',
  'overview.latency': '本节点评分延迟（自启动以来，共 {scores} 次评分）',
  'overview.degraded': '每分钟降级决策数（按阶段）',
  'overview.degradedNow': '当前降级',
  'overview.normal': '当前无降级',
  'overview.pending': '本节点有 {n} 个降级决策尚未写入 Redis',
  'overview.versions': '版本',
  'overview.rulesVersion': '规则：{version}（版本 {id}，{count} 条规则，{at} 由 {by} 启用）',
  'overview.modelVersion': '模型：{name} {version}（{at} 加载）',
  'overview.noModel': '模型：无（仅规则）',
  'action.allow': '放行',
  'action.warn': '提醒',
  'action.cool_off': '冷静期',
  'action.block': '拦截',
  'band.all': '全部',
  'band.minor': '未成年人',
  'band.adult': '成年人',
  'band.elderly': '老年人',
  'band.unknown': '年龄未知',
  'rules.title': '规则',
  'rules.version': '当前版本 {id}（{version}）',
  'rules.id': '规则',
  'rules.when': '条件',
  'rules.score': '分值',
  'rules.action': '处置',
  'rules.mode': '模式',
  'rules.hits': '命中（{days} 天）',
  'rules.precision': '精确率',
  'rules.shadow': '影子',
  'rules.active': '生效',
  'rules.flagged': '消耗预算多、拦截少',
  'rules.files': '规则文件',
  'rules.check': '检查这些文件',
  'rules.valid': '文件有效：{count} 条规则。',
  'rules.invalid': '{count} 个错误',
  'rules.readOnly': '只读：您的密钥不能修改规则。',
};

const MESSAGES: Record<Lang, Record<MessageKey, string>> = { en, 'zh-CN': zh };
const STORAGE = 'calmpay.console.lang';

/** The browser's language unless the analyst chose one (kept in localStorage: a preference, never a secret). */
export function initialLang(): Lang {
  const chosen = localStorage.getItem(STORAGE);
  if (chosen === 'en' || chosen === 'zh-CN') return chosen;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export const lang = signal<Lang>(initialLang());

export function setLang(l: Lang): void {
  localStorage.setItem(STORAGE, l);
  lang.value = l;
  document.documentElement.lang = l;
}

export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  return MESSAGES[lang.value][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export function formatPct(share: number | null): string {
  return share === null ? '–' : `${(share * 100).toFixed(share < 0.01 ? 2 : 1)} %`;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(lang.value);
}
