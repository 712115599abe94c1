/**
 * Protocol replies shared by every front door. One text per outcome: a rejection never tells
 * whether the account exists, the password part was right, or the account is locked.
 */
export const SMTP_REJECT = { code: 535, message: '5.7.8 Authentication failed: use an app password, or your password followed by your verification code' } as const;
export const SMTP_TEMPORARY = { code: 454, message: '4.7.0 Temporary authentication failure, try again later' } as const;
export const IMAP_REJECT = '[AUTHENTICATIONFAILED] Authentication failed: use an app password, or your password followed by your verification code';
export const IMAP_TEMPORARY = '[UNAVAILABLE] Temporary authentication failure, try again later';
export const POP3_REJECT = '[AUTH] Authentication failed: use an app password, or your password followed by your verification code';
export const POP3_TEMPORARY = '[SYS/TEMP] Temporary authentication failure, try again later';

export interface SmtpReply {
  readonly code: number;
  readonly message: string;
}

/** Splits an SMTP reply into its status (`535 5.7.8`) and its text, as nginx's `Auth-Error-Code` and `Auth-Status` want them. */
export function splitSmtpReply(reply: SmtpReply): { readonly status: string; readonly text: string } {
  const space = reply.message.indexOf(' ');
  return { status: `${reply.code} ${reply.message.slice(0, space)}`, text: reply.message.slice(space + 1) };
}
