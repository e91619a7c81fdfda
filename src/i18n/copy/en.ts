import type { Copy } from './shape.ts';

/** English. Conventions for translators: shape.ts. */
export const EN: Copy = {
  joiner: ' ',
  minutes: { one: '{n} minute', other: '{n} minutes' },
  warnings: {
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
  holdNotices: {
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
  factors: {
    numberLocale: 'en-US',
    phrase: '{label}: {value} ({direction})',
    yes: 'yes',
    no: 'no',
    unknown: 'unknown',
    raises: 'raises the risk',
    lowers: 'lowers the risk',
    ageBands: { minor: 'minor', adult: 'adult', elderly: 'elderly' },
    featureNames: {},
  },
  guardianNotices: {
    moneyLocale: 'en',
    notices: {
      guardian_limit_per_transfer: {
        title: 'That is more than you can send at once',
        message: 'Your parent or guardian set a limit of {limit} for each payment. This payment was not sent. Ask them if you need help.',
      },
      guardian_limit_daily: {
        title: "You have used up today's limit",
        message:
          'Your parent or guardian set a limit of {limit} a day, and you have {left} left today. This payment was not sent. Try again tomorrow or ask them for help.',
      },
      guardian_limit_currency: {
        title: 'You cannot pay in this currency',
        message: 'Your parent or guardian only allows payments in {currency}. This payment was not sent. Ask them for help.',
      },
    },
  },
  trustedContactHoldStarted:
    '{name}, a payment of {amount} by the account {payer} you look out for is on hold until {until} because it looks like a scam. Please call them now: until then they can still cancel it.',
};
