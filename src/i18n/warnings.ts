/**
 * The risk reminder shown on the transfer page and the voice warning played with it
 * (DESIGN §1: `warn` and `cool_off`). Modelled on WeChat Pay's intervention: a reminder that
 * names the likely scam, its tell-tale signs and what to do, plus a short spoken warning;
 * when dissuasion fails, a cooling-off hold the payer can still cancel.
 *
 * Pure: plain data in, plain data out. Every word lives in the tables below so a translator
 * edits one place. Conventions for translators:
 * - `{minutes}` is the only placeholder; it appears in HOLD_NOTICES and is filled with the
 *   language's own wording for the hold duration (LOCALES[lang].minutes).
 * - Voice scripts are read by text-to-speech: short (under ~60 English words / ~120 Chinese
 *   characters including the hold notice), no quotes, brackets, symbols or URLs, and phone
 *   numbers spelt digit by digit ("nine six one one zero", "九六幺幺零") so a TTS engine does not
 *   read 110 as "one hundred and ten".
 * - elderly: short sentences, plain words, call a family member before paying.
 *   minor: child-friendly words (你, not 您), tell a parent or guardian (家长).
 * - 110 is the police; 96110 is China's national anti-fraud warning hotline.
 */
import type { AgeBand } from '../features/catalogue.ts';
import type { ScamType } from '../scoring/scam-types.ts';
import { BoundedCache } from '../bounded-cache.ts';

export const SUPPORTED_LANGUAGES = ['en', 'zh'] as const;
export type Language = (typeof SUPPORTED_LANGUAGES)[number];

export interface Warning {
  title: string;
  message: string;
  voiceScript: string;
  scamType: ScamType;
}

export interface WarningInput {
  scamType: ScamType;
  segment: AgeBand | null;
  action: 'warn' | 'cool_off';
  lang: Language;
  /** length of the cooling-off hold; only read when action is 'cool_off' */
  holdMinutes: number;
}

/** Which wording a segment gets; adults and payers of unknown age get the standard text. */
export type WarningVariant = 'standard' | 'elderly' | 'minor';

export interface WarningText {
  readonly title: string;
  readonly message: string;
  readonly voiceScript: string;
}

export interface HoldNotice {
  readonly message: string;
  readonly voiceScript: string;
}

type ScamTexts = Readonly<Record<ScamType, Readonly<Record<WarningVariant, WarningText>>>>;

interface Locale {
  /** how sentences from different table cells are joined */
  readonly joiner: string;
  /** the hold duration as it is written and spoken in this language */
  readonly minutes: (n: number) => string;
}

export const LOCALES: Readonly<Record<Language, Locale>> = {
  en: { joiner: ' ', minutes: (n) => (n === 1 ? '1 minute' : `${n} minutes`) },
  zh: { joiner: '', minutes: (n) => `${n}分钟` },
};

/** Appended to the message and the voice script when the action is `cool_off`. */
export const HOLD_NOTICES: Readonly<Record<Language, Readonly<Record<WarningVariant, HoldNotice>>>> = {
  en: {
    standard: {
      message:
        'If you confirm, the money will be held for {minutes} before it is sent. You can cancel at any time during that period.',
      voiceScript: 'If you confirm, the money will be held for {minutes}, and you can still cancel in that time.',
    },
    elderly: {
      message: 'If you go ahead, the money will wait {minutes} before it is sent. You can cancel in that time.',
      voiceScript: 'If you go ahead, the money will wait {minutes}. You can still cancel.',
    },
    minor: {
      message:
        'If you still go ahead, the money will wait {minutes} before it is sent, so you have time to ask a parent or guardian and cancel.',
      voiceScript: 'If you still go ahead, the money will wait {minutes}. You can cancel in that time.',
    },
  },
  zh: {
    standard: {
      message: '如您确认付款，这笔钱将暂缓{minutes}转出，期间您可随时取消。',
      voiceScript: '如果您确认付款，这笔钱会暂缓{minutes}转出，期间可以随时取消。',
    },
    elderly: {
      message: '如果您坚持付款，这笔钱会先等{minutes}再转出。这段时间里，您随时可以取消。',
      voiceScript: '如果您坚持付款，钱会先等{minutes}再转出，这期间随时可以取消。',
    },
    minor: {
      message: '如果你还是要付款，这笔钱会先等{minutes}再转出，你可以在这段时间里问问家长，随时取消。',
      voiceScript: '如果你还是要付款，钱会先等{minutes}再转出，这期间随时可以取消。',
    },
  },
};

export const WARNING_TEXTS: Readonly<Record<Language, ScamTexts>> = {
  en: {
    impersonation: {
      standard: {
        title: 'Warning: possible impersonation scam',
        message:
          'The other side may be pretending to be the police, a court, your bank, a government office or platform staff. ' +
          'Real officials and banks never ask you to move money to a "safe account", never ask you to pay to clear your name, and never ask you to keep it secret. ' +
          'Hang up, then call the official number yourself: the one on the back of your bank card, or 110 for the police. ' +
          'In China you can also call the anti-fraud hotline 96110.',
        voiceScript:
          'Stop. This may be a scam. Real police and banks never ask you to move money to a safe account. ' +
          'Hang up, and call the official number yourself, or the anti-fraud hotline nine six one one zero.',
      },
      elderly: {
        title: 'Stop: this may be a fake police or bank call',
        message:
          'Someone may be pretending to be the police or your bank. Real police never ask for money. ' +
          'Banks never ask you to move money to a "safe account". Hang up now. ' +
          'Call a family member before you pay. You can also call 110.',
        voiceScript:
          'Stop. This may be a fake police or bank call. Real police never ask for money. Hang up now. ' +
          'Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: someone may be pretending to be the police or a teacher',
        message:
          'Someone may be pretending to be the police, a teacher or a game company. ' +
          'Real police and teachers never ask you to send money in secret. ' +
          'Stop and tell your parent or guardian right now. Do not pay until they have checked it.',
        voiceScript:
          'Stop. Someone may be pretending to be the police or a teacher. Real police never ask you to send money. ' +
          'Tell your parent or guardian now.',
      },
    },
    investment: {
      standard: {
        title: 'Warning: possible investment scam',
        message:
          'Guaranteed high returns, "insider tips" and a "teacher" leading a stock or crypto group are signs of a scam. ' +
          'Fake platforms show big profits, then say you must pay fees, taxes or a deposit before you can withdraw. ' +
          'Never add more money to get your money back. ' +
          'Check that the platform is licensed with the financial regulator (in China, the CSRC), and stop if you cannot withdraw.',
        voiceScript:
          'Careful. This may be an investment scam. Nobody can guarantee high returns. ' +
          'If you are told to pay more before you can withdraw, it is a scam. Do not add more money.',
      },
      elderly: {
        title: 'Stop: this may be a fake investment',
        message:
          'Nobody can promise big, safe profits. If someone asks you to put in more money to get your money back, it is a scam. ' +
          'Do not pay. Call a family member before you pay. Ask them to look at it with you.',
        voiceScript:
          'Stop. Nobody can promise big, safe profits. If they ask for more money, it is a scam. ' +
          'Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: this may be a fake money-making offer',
        message:
          'Nobody can make your money grow fast without risk. ' +
          'Offers to double your money, or to earn by reselling cheap game coins or skins, are tricks to take your money. ' +
          'Do not pay. Tell your parent or guardian first.',
        voiceScript:
          'Careful. Nobody can double your money fast. This may be a trick. Do not pay. Tell your parent or guardian first.',
      },
    },
    part_time_job: {
      standard: {
        title: 'Warning: possible fake part-time job',
        message:
          'Jobs that pay you to like posts, write reviews or place orders ("order brushing") and then ask you to pay first, ' +
          'or to advance money for bigger tasks, are always scams. The small payouts at the start are bait. ' +
          'A real employer never asks you to pay to work. Stop, and do not pay to unlock tasks or commissions.',
        voiceScript:
          'Careful. A job that makes you pay first is always a scam. Real employers never ask you to pay to work. ' +
          'Do not pay to unlock tasks or commissions.',
      },
      elderly: {
        title: 'Stop: real jobs never ask you to pay',
        message:
          'Someone may be offering easy work from home. A real job never asks you to pay first. ' +
          'If they ask you to pay to get your wages, it is a scam. Do not pay. Call a family member before you pay.',
        voiceScript:
          'Stop. A real job never asks you to pay first. This may be a scam. Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: paying to do tasks is a trick',
        message:
          'Tasks that promise money or game rewards for liking posts or placing orders, but ask you to pay first, are always tricks. ' +
          'You will not get your money back. Do not pay. Tell your parent or guardian.',
        voiceScript:
          'Careful. If you have to pay first to do tasks, it is a trick. Do not pay. Tell your parent or guardian.',
      },
    },
    romance: {
      standard: {
        title: 'Warning: possible romance scam',
        message:
          'Be careful when someone you have only met online, and never in person, asks you for money: ' +
          'for an emergency, a ticket, customs fees, or an investment they say will make you both rich. ' +
          'Scammers build trust for weeks before they ask. Do not send money to someone you have never met. ' +
          'Talk to a friend or family member you trust first.',
        voiceScript:
          'Careful. Someone you have never met in person is asking for money. This is how romance scams work. ' +
          'Do not send money. Talk to someone you trust first.',
      },
      elderly: {
        title: 'Stop: an online friend is asking for money',
        message:
          'Someone you have never met in person is asking for money. This is a common scam. Do not send money. ' +
          'Call a family member before you pay.',
        voiceScript: 'Stop. Never send money to someone you have never met. Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: an online friend is asking for money',
        message:
          'Someone you only know online is asking you for money or gifts. ' +
          'People online are not always who they say they are. Do not pay. Tell your parent or guardian.',
        voiceScript:
          'Careful. People online are not always who they say they are. Do not send money. Tell your parent or guardian.',
      },
    },
    fake_refund: {
      standard: {
        title: 'Warning: possible fake customer service refund',
        message:
          'The other side may claim to be customer service offering a refund or compensation for a lost parcel, a faulty product or a membership to cancel. ' +
          'Real customer service never asks you to transfer money, take out a loan, share your screen or give a verification code to receive a refund. ' +
          'Refunds go back the way you paid. Hang up and contact the seller or platform through its official app.',
        voiceScript:
          'Careful. Real customer service never asks you to transfer money or share your screen to get a refund. ' +
          'Hang up, and contact the platform through its official app.',
      },
      elderly: {
        title: 'Stop: a real refund never needs you to pay',
        message:
          'Someone may say they are customer service and will give you a refund. ' +
          'A real refund never needs you to pay or share your screen. Hang up. Call a family member before you pay.',
        voiceScript: 'Stop. A real refund never needs you to pay. Hang up. Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: this may be fake customer service',
        message:
          'Someone may say they are customer service from a game or a shop, and that you must pay to get a refund or unfreeze an account. ' +
          'Real customer service never asks for that. Do not pay and do not share your screen. Tell your parent or guardian.',
        voiceScript:
          'Careful. Real customer service never asks you to pay to get a refund. Do not pay. Tell your parent or guardian.',
      },
    },
    purchase: {
      standard: {
        title: 'Warning: possible fake seller',
        message:
          'A seller who asks you to pay by direct transfer outside the platform, offers a price far below market, or rushes you to pay a deposit is a common scam, and the goods never arrive. ' +
          "Pay only through the platform's guaranteed checkout so that your payment is protected. " +
          "Check the seller's reviews and history before you pay.",
        voiceScript:
          'Careful. This seller may be a scam. Do not pay by direct transfer. ' +
          "Pay only through the platform's guaranteed checkout so your money is protected.",
      },
      elderly: {
        title: 'Stop: this seller may be fake',
        message:
          'The seller may be fake. The goods may never come. Do not pay by direct transfer. ' +
          'Pay only inside the shopping app. Call a family member before you pay.',
        voiceScript:
          'Stop. This seller may be fake. Pay only inside the shopping app. Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: this seller may be fake',
        message:
          'Cheap game accounts, skins, idol merchandise or tickets sold outside the official shop or game are often fake, and you will lose your money. ' +
          'Pay only inside the official shop. Tell your parent or guardian before you pay.',
        voiceScript:
          'Careful. This seller may be fake. Do not pay outside the official shop. Tell your parent or guardian.',
      },
    },
    mule: {
      standard: {
        title: "Warning: the payee's account is high risk",
        message:
          'The account you are paying shows signs of being used to move money from scams, and money sent to it is often impossible to recover. ' +
          'If someone you do not know well asked you to pay this account, stop, and confirm who the payee is through a channel you already trust, not the chat or call that gave you the account. ' +
          'Never let anyone use your own account to receive or pass on money: it is illegal.',
        voiceScript:
          'Careful. The account you are paying may be used to move scam money. Money sent to it is hard to get back. ' +
          'Stop, and check who you are paying first.',
      },
      elderly: {
        title: 'Stop: this account is high risk',
        message:
          'The account you are paying may belong to scammers. Money sent to it is hard to get back. Do not pay. ' +
          'Call a family member before you pay.',
        voiceScript: 'Stop. This account may belong to scammers. Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: this account is risky',
        message:
          'The account you are paying may be used by scammers. Money sent to it is hard to get back. ' +
          'Never let anyone use your account to move money for them. Do not pay. Tell your parent or guardian.',
        voiceScript: 'Careful. This account may be used by scammers. Do not pay. Tell your parent or guardian.',
      },
    },
    account_takeover: {
      standard: {
        title: 'Warning: someone else may be using your account',
        message:
          'This transfer does not look like your usual activity, for example it comes from a new device or while your phone is being controlled remotely. ' +
          'If you did not start it, cancel now, change your password and contact customer service through the official app. ' +
          'Never share verification codes or let anyone control your screen.',
        voiceScript:
          'Careful. Someone else may be using your account. If you did not start this payment, cancel it now and change your password. ' +
          'Never share your verification codes.',
      },
      elderly: {
        title: 'Stop: someone may be using your account',
        message:
          'This payment does not look like you. If you did not make it, cancel now. ' +
          'Never tell anyone your codes. Never let anyone control your phone. Call a family member before you pay.',
        voiceScript:
          'Stop. Someone may be using your account. If this is not you, cancel now. Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: someone may be using your account',
        message:
          'This payment does not look like you. If you did not make it, cancel now. ' +
          'Never give anyone your password or codes, not even a friend. Tell your parent or guardian.',
        voiceScript:
          'Careful. Someone may be using your account. If this is not you, cancel now. Tell your parent or guardian.',
      },
    },
    other: {
      standard: {
        title: 'Warning: this payment may be a scam',
        message:
          'This payment shows signs of fraud. Be careful if someone you do not know well is rushing you, asking you to keep it secret, or asking you to pay a personal account. ' +
          'Once sent, money is hard to recover. If in doubt, stop and check with someone you trust. ' +
          'In China you can call the anti-fraud hotline 96110.',
        voiceScript:
          'Careful. This payment may be a scam. If someone is rushing you or asking you to keep it secret, stop. ' +
          'Check with someone you trust, or call nine six one one zero.',
      },
      elderly: {
        title: 'Stop: this payment may be a scam',
        message:
          'This payment may be a scam. Money sent is hard to get back. Do not rush. Call a family member before you pay.',
        voiceScript: 'Stop. This payment may be a scam. Do not rush. Call a family member before you pay.',
      },
      minor: {
        title: 'Careful: this payment may be a trick',
        message:
          'This payment may be a trick to take your money. Do not pay if someone is rushing you or telling you to keep it secret. ' +
          'Tell your parent or guardian first.',
        voiceScript: 'Careful. This payment may be a trick. Do not pay yet. Tell your parent or guardian first.',
      },
    },
  },
  zh: {
    impersonation: {
      standard: {
        title: '风险提醒：对方可能冒充公检法或银行',
        message:
          '对方可能冒充公安、检察院、法院、银行、政府部门或平台工作人员。' +
          '真正的公检法和银行不会要求您把钱转到“安全账户”，不会让您交钱“洗清嫌疑”，也不会要求您保密。' +
          '请立即挂断电话，自行拨打官方电话核实（如银行卡背面的客服电话，或拨打110报警），也可拨打全国反诈专线96110咨询。',
        voiceScript:
          '请注意，这可能是诈骗。公检法和银行不会让您把钱转到安全账户。' +
          '请立即挂断电话，自己拨打官方电话核实，或拨打反诈专线九六幺幺零。',
      },
      elderly: {
        title: '请停一下：可能是假警察、假银行',
        message:
          '有人可能假冒警察或银行。警察不会让您转钱。银行不会让您把钱转到“安全账户”。' +
          '请马上挂断电话。付款前，先给家人打个电话。也可以拨打110。',
        voiceScript: '请停一下，这可能是假警察、假银行。警察不会让您转钱。请马上挂断电话。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：可能有人冒充警察或老师',
        message:
          '有人可能在冒充警察、老师或游戏公司。真的警察和老师不会让你偷偷转钱。' +
          '请先停下来，马上告诉家长或监护人，等他们帮你确认了再说。',
        voiceScript: '小心，可能有人冒充警察或老师。真的警察不会让你转钱。请马上告诉家长。',
      },
    },
    investment: {
      standard: {
        title: '风险提醒：谨防投资理财诈骗',
        message:
          '“保本高收益”“内部消息”“导师带单”都是诈骗的常见说法。' +
          '虚假平台会先显示高额盈利，再以手续费、税费、保证金等理由要求您继续充值才能提现。' +
          '不要为了取回本金而追加投入。请通过中国证监会官方渠道核实平台是否持牌，无法提现时请立即停止转账。',
        voiceScript:
          '请注意，这可能是投资诈骗。没有人能保证高收益。如果要您先交钱才能提现，就是诈骗。请不要继续投钱。',
      },
      elderly: {
        title: '请停一下：可能是假理财',
        message:
          '没有稳赚不赔的投资。要您再交钱才能取回钱的，都是骗子。请不要付款。' +
          '付款前，先给家人打个电话，请家人帮您看看。',
        voiceScript: '请停一下。没有稳赚不赔的投资。要您再交钱的，都是骗子。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：可能是赚钱骗局',
        message:
          '没有人能让你的钱很快翻倍。说能“充值返利”、低价倒卖游戏币或皮肤赚钱的，都是骗钱的把戏。' +
          '请不要付款，先告诉家长。',
        voiceScript: '小心，没有人能让钱很快翻倍，这可能是骗局。请不要付款，先告诉家长。',
      },
    },
    part_time_job: {
      standard: {
        title: '风险提醒：谨防刷单兼职诈骗',
        message:
          '以点赞、写好评、刷单、做任务为名的兼职，要求您先垫付或充值才能接更大的任务、领取佣金，都是诈骗。' +
          '前几单的小额返利只是诱饵。正规工作不会让您先交钱。' +
          '请立即停止，不要为“解冻佣金”或“完成任务”继续付款。',
        voiceScript:
          '请注意，刷单就是诈骗。让您先交钱的兼职都是骗局，正规工作不会让您付钱。请不要为了做任务或领佣金继续付款。',
      },
      elderly: {
        title: '请停一下：正规工作不会让您先交钱',
        message:
          '有人可能说在家就能轻松赚钱。正规工作不会让您先交钱。要您先付钱才能拿工钱的，都是骗子。' +
          '请不要付款。付款前，先给家人打个电话。',
        voiceScript: '请停一下。正规工作不会让您先交钱，这可能是骗局。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：先交钱做任务是骗局',
        message:
          '说点赞、刷单、做任务就能拿钱或游戏奖励，却要你先付钱的，都是骗局，钱是要不回来的。请不要付款，告诉家长。',
        voiceScript: '小心，要先交钱才能做任务的，都是骗局。请不要付款，告诉家长。',
      },
    },
    romance: {
      standard: {
        title: '风险提醒：谨防网络交友诈骗',
        message:
          '如果只在网上认识、从未见过面的人向您要钱，无论理由是急病、机票、海关费用，还是带您一起“投资赚钱”，都要高度警惕。' +
          '骗子往往先花几周时间培养感情，再开口要钱。不要给从未见过面的人转账，请先和信任的亲友商量。',
        voiceScript: '请注意，从没见过面的网友向您要钱，这是交友诈骗的常见套路。请不要转账，先和信任的亲友商量。',
      },
      elderly: {
        title: '请停一下：网上认识的人在向您要钱',
        message: '没见过面的网友向您要钱，这是常见骗局。请不要转钱。付款前，先给家人打个电话。',
        voiceScript: '请停一下。不要给没见过面的人转钱。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：网友在向你要钱',
        message: '只在网上认识的人在向你要钱或礼物。网上的人不一定是他说的那个人。请不要付款，告诉家长。',
        voiceScript: '小心，网上的人不一定是他说的那个人。请不要转钱，告诉家长。',
      },
    },
    fake_refund: {
      standard: {
        title: '风险提醒：谨防冒充客服退款诈骗',
        message:
          '对方可能自称客服，以快递丢失、商品质量问题、取消会员等理由说要给您退款或理赔。' +
          '真正的客服不会要求您转账、贷款、共享屏幕或提供验证码，退款会原路退回。' +
          '请挂断电话，通过官方App联系商家或平台核实。',
        voiceScript: '请注意，真正的客服不会让您转账或共享屏幕来退款。请挂断电话，通过官方渠道联系平台核实。',
      },
      elderly: {
        title: '请停一下：真退款不用您付钱',
        message:
          '有人可能自称客服，说要给您退款。真的退款不用您付钱，也不用共享屏幕。请挂断电话。付款前，先给家人打个电话。',
        voiceScript: '请停一下。真的退款不用您付钱。请挂断电话。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：可能是假客服',
        message:
          '有人可能自称游戏或商店的客服，说要付钱才能退款或解冻账号。真正的客服不会这样要求。' +
          '请不要付款，也不要共享屏幕，告诉家长。',
        voiceScript: '小心，真正的客服不会让你付钱退款。请不要付款，告诉家长。',
      },
    },
    purchase: {
      standard: {
        title: '风险提醒：谨防虚假购物诈骗',
        message:
          '卖家要求绕开平台私下转账、价格远低于市场价、催您先付定金，都是虚假购物诈骗的常见迹象，付款后往往收不到货。' +
          '请只通过平台的担保交易付款，让您的资金受到保障。付款前请查看卖家的评价和交易记录。',
        voiceScript: '请注意，这个卖家可能是骗子。不要私下转账，请只通过平台担保交易付款，您的钱才有保障。',
      },
      elderly: {
        title: '请停一下：卖家可能是假的',
        message:
          '这个卖家可能是假的，付了钱可能收不到货。不要私下转账。只在购物App里付款。付款前，先给家人打个电话。',
        voiceScript: '请停一下。这个卖家可能是假的。只在购物软件里付款。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：卖家可能是假的',
        message:
          '在官方商店或游戏以外卖的便宜游戏账号、皮肤、明星周边或门票，很多是假的，付了钱就要不回来。' +
          '只在官方商店里付款，付款前先告诉家长。',
        voiceScript: '小心，这个卖家可能是假的。不要在官方商店以外付款，先告诉家长。',
      },
    },
    mule: {
      standard: {
        title: '风险提醒：收款账户存在风险',
        message:
          '您要付款的账户有被用于转移诈骗资金的迹象，转给它的钱往往难以追回。' +
          '如果是不熟悉的人让您向这个账户付款，请立即停止，并通过您原本信任的渠道核实收款人身份。' +
          '不要出租、出借自己的账户帮别人收款或转账，这是违法行为。',
        voiceScript: '请注意，收款账户可能被用于转移诈骗资金，钱转出后很难追回。请先停下来，核实收款人身份。',
      },
      elderly: {
        title: '请停一下：收款账户有风险',
        message: '这个收款账户可能是骗子的。钱转过去很难要回来。请不要付款。付款前，先给家人打个电话。',
        voiceScript: '请停一下。这个收款账户可能是骗子的。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：收款账户有风险',
        message:
          '你要付款的账户可能被骗子使用，钱转过去很难要回来。不要把自己的账户借给别人收钱或转钱。请不要付款，告诉家长。',
        voiceScript: '小心，这个账户可能被骗子使用。请不要付款，告诉家长。',
      },
    },
    account_takeover: {
      standard: {
        title: '风险提醒：您的账户可能被他人使用',
        message:
          '这笔转账与您平时的习惯不同，例如使用了新设备，或手机正被远程控制。' +
          '如果不是您本人操作，请立即取消，修改密码，并通过官方App联系客服。' +
          '不要向任何人透露验证码，也不要让他人远程控制您的手机。',
        voiceScript: '请注意，您的账户可能被他人使用。如果不是您本人操作，请立即取消并修改密码。不要把验证码告诉任何人。',
      },
      elderly: {
        title: '请停一下：可能有人在用您的账户',
        message:
          '这笔付款不像您平时的习惯。如果不是您本人操作，请马上取消。不要把验证码告诉任何人。' +
          '不要让别人控制您的手机。付款前，先给家人打个电话。',
        voiceScript: '请停一下。可能有人在用您的账户。不是您本人操作，请马上取消。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：可能有人在用你的账户',
        message:
          '这笔付款不像你平时的习惯。如果不是你自己操作，请马上取消。不要把密码或验证码告诉任何人，好朋友也不行。请告诉家长。',
        voiceScript: '小心，可能有人在用你的账户。不是你自己操作，请马上取消，告诉家长。',
      },
    },
    other: {
      standard: {
        title: '风险提醒：这笔付款可能存在诈骗风险',
        message:
          '这笔付款存在诈骗风险迹象。如果有不熟悉的人催您尽快付款、要求您保密，或让您转账到个人账户，请务必提高警惕。' +
          '钱一旦转出很难追回。如有疑问，请先停下来，和信任的亲友核实，也可拨打全国反诈专线96110咨询。',
        voiceScript:
          '请注意，这笔付款可能是诈骗。如果有人催您付款或让您保密，请先停下来，和信任的亲友核实，或拨打反诈专线九六幺幺零。',
      },
      elderly: {
        title: '请停一下：这笔付款可能是诈骗',
        message: '这笔付款可能是诈骗。钱转出去很难要回来。不要着急。付款前，先给家人打个电话。',
        voiceScript: '请停一下。这笔付款可能是诈骗。不要着急。付款前，先给家人打个电话。',
      },
      minor: {
        title: '小心：这笔付款可能是骗局',
        message: '这笔付款可能是骗你钱的把戏。如果有人催你付款或让你保密，请不要付款，先告诉家长。',
        voiceScript: '小心，这笔付款可能是骗局。请先不要付款，告诉家长。',
      },
    },
  },
};

export function warningVariant(segment: AgeBand | null): WarningVariant {
  return segment === 'elderly' || segment === 'minor' ? segment : 'standard';
}

/**
 * The warning for one decision. Throws a RangeError when a cool_off is asked for with a hold
 * that is not a positive whole number of minutes: that is a configuration bug, not input.
 */
export function renderWarning(input: WarningInput): Warning {
  const { scamType, segment, action, lang } = input;
  const variant = warningVariant(segment);
  const text = WARNING_TEXTS[lang][scamType][variant];
  if (action === 'warn') {
    return { title: text.title, message: text.message, voiceScript: text.voiceScript, scamType };
  }
  if (!Number.isInteger(input.holdMinutes) || input.holdMinutes <= 0) {
    throw new RangeError(`holdMinutes must be a positive integer for cool_off, got ${input.holdMinutes}`);
  }
  const hold = holdSuffix(lang, variant, input.holdMinutes);
  return {
    title: text.title,
    message: text.message + hold.message,
    voiceScript: text.voiceScript + hold.voiceScript,
    scamType,
  };
}

/**
 * The filled hold notice of a cool_off, joiner included, for a language, variant and hold
 * length. Every cool_off of a segment has the same hold, so the few combinations a
 * configuration has are filled once rather than on every score (bounded, should stored
 * decisions with many hold lengths be replayed).
 */
const holdSuffixes = new BoundedCache<string, HoldNotice>(256);

function holdSuffix(lang: Language, variant: WarningVariant, holdMinutes: number): HoldNotice {
  const key = `${lang} ${variant} ${holdMinutes}`;
  return holdSuffixes.getOr(key, () => {
    const locale = LOCALES[lang];
    const hold = HOLD_NOTICES[lang][variant];
    const vars = { minutes: locale.minutes(holdMinutes) };
    return { message: locale.joiner + fill(hold.message, vars), voiceScript: locale.joiner + fill(hold.voiceScript, vars) };
  });
}

function fill(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`unknown placeholder ${whole} in warning text`);
    return value;
  });
}

/** RFC 5646 language tag shape (loose), with '_' accepted for the explicit field (Android "zh_CN"). */
const TAG = /^[a-z]{1,8}(?:[-_][a-z0-9]{1,8})*$/i;

/**
 * The supported language a tag falls back to by RFC 4647 §3.4 lookup: the tag is truncated
 * until it matches, so "zh-CN", "zh-Hans" and "zh-Hant-TW" all reach "zh" (Simplified Chinese,
 * the only Chinese we ship and the closest to what a Traditional reader asks for).
 */
function lookup(tag: string): Language | null {
  if (!TAG.test(tag)) return null;
  const primary = tag.split(/[-_]/)[0]!.toLowerCase();
  return (SUPPORTED_LANGUAGES as readonly string[]).includes(primary) ? (primary as Language) : null;
}

/** Accept-Language headers longer than this are cut: the language choice never needs more. */
const MAX_RANGES = 32;
/** RFC 9110 §12.4.2 qvalue */
const QVALUE = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i;

interface Range {
  /** the supported language this range selects, or '*' */
  lang: Language | '*';
  q: number;
  position: number;
}

function parseAcceptLanguage(header: string): Range[] {
  const ranges: Range[] = [];
  const parts = header.split(',').slice(0, MAX_RANGES);
  parts.forEach((part, position) => {
    const [rawTag, ...params] = part.split(';').map((s) => s.trim());
    if (!rawTag) return;
    let q = 1;
    for (const p of params) {
      const m = QVALUE.exec(p);
      if (!m) return; // a malformed weight makes the whole range unusable
      q = Number(m[1]);
    }
    if (rawTag === '*') {
      ranges.push({ lang: '*', q, position });
      return;
    }
    if (rawTag.includes('_')) return; // not a valid range in a header
    const lang = lookup(rawTag);
    if (lang) ranges.push({ lang, q, position });
  });
  return ranges;
}

/**
 * The language to warn in. An explicit field (from the transfer event or the app settings)
 * wins when it names a supported language; otherwise the best supported language in the
 * Accept-Language header by q-value (ties go to the earlier range; `*` stands for every
 * supported language the header does not name, preferring the fallback; q=0 excludes);
 * otherwise the fallback.
 */
export function pickLanguage(
  acceptLanguage: string | undefined,
  explicit: string | undefined,
  fallback: Language,
): Language {
  if (explicit !== undefined) {
    const lang = lookup(explicit.trim());
    if (lang) return lang;
  }
  if (!acceptLanguage) return fallback;
  if (acceptLanguage.length > MAX_CACHED_HEADER) return fromAcceptLanguage(acceptLanguage, fallback);
  return headerChoices[fallback].getOr(acceptLanguage, (header) => fromAcceptLanguage(header, fallback));
}

/**
 * Parsing an Accept-Language header costs microseconds (splits, regexes, closures), and the
 * header of a client app is the same on every request, so the choice is kept per header and
 * fallback: a bounded number of ordinary-length headers, anything longer parsed every time.
 */
const MAX_CACHED_HEADER = 256;
const MAX_CACHED_HEADERS = 512;
const headerChoices: Readonly<Record<Language, BoundedCache<string, Language>>> = {
  en: new BoundedCache(MAX_CACHED_HEADERS),
  zh: new BoundedCache(MAX_CACHED_HEADERS),
};

function fromAcceptLanguage(acceptLanguage: string, fallback: Language): Language {
  const ranges = parseAcceptLanguage(acceptLanguage);
  const wildcard = ranges.find((r) => r.lang === '*');
  // Candidates in preference order for equal q: fallback first, then declaration order.
  const order: Language[] = [fallback, ...SUPPORTED_LANGUAGES.filter((l) => l !== fallback)];
  let best: { lang: Language; q: number; position: number } | null = null;
  for (const lang of order) {
    const named = ranges.filter((r) => r.lang === lang);
    let q: number;
    let position: number;
    if (named.length > 0) {
      const top = named.reduce((a, b) => (b.q > a.q ? b : a));
      q = top.q;
      position = top.position;
    } else if (wildcard) {
      q = wildcard.q;
      position = wildcard.position;
    } else {
      continue;
    }
    if (q <= 0) continue;
    if (!best || q > best.q || (q === best.q && position < best.position)) best = { lang, q, position };
  }
  return best ? best.lang : fallback;
}
