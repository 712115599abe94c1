import type { Logger } from '../core/context';
import { decideLogin, type LoginDecision } from '../core/login';
import { openInstallation, type Installation } from '../installation';
import { SMTP_REJECT, SMTP_TEMPORARY, type SmtpReply } from './replies';

/** The parts of smtp-server's `onAuth` arguments that TwoStep reads. */
export interface SmtpAuthRequest {
  readonly method: string;
  readonly username?: string | null;
  readonly password?: string | null;
}

export interface SmtpAuthSession {
  readonly remoteAddress: string;
}

export type SmtpAuthCallback = (error: Error | null | undefined, response?: { user: string }) => void;
export type SmtpAuthHandler = (auth: SmtpAuthRequest, session: SmtpAuthSession, callback: SmtpAuthCallback) => void;

export interface SmtpAuthHandlerOptions {
  /** An open installation. Without it, the handler opens one from `configDir` on the first login. */
  readonly installation?: Installation;
  readonly configDir?: string;
  readonly logger?: Logger;
}

/** Only mechanisms that carry the password in clear can carry a verification code. */
const METHODS = ['PLAIN', 'LOGIN'];

function replyError(reply: SmtpReply): Error & { responseCode: number } {
  // smtp-server hides enhanced status codes by default, so the message carries it (5.7.8 …).
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

/**
 * Returns an `onAuth` handler for nodemailer's smtp-server that decides each AUTH PLAIN or
 * LOGIN with TwoStep: the same replies (535 5.7.8, 454 4.7.0) and the same growing delays
 * as the Haraka plugin. Pass `authMethods: ['PLAIN', 'LOGIN']` to SMTPServer as well.
 */
export function createSmtpAuthHandler(options: SmtpAuthHandlerOptions = {}): SmtpAuthHandler {
  let opening: Promise<Installation> | undefined = options.installation ? Promise.resolve(options.installation) : undefined;

  const installation = (): Promise<Installation> => {
    if (!opening) {
      opening = openInstallation({ configDir: options.configDir, logger: options.logger, batchActivity: true });
      // A fault while opening (store down, bad key) is retried on the next login.
      opening.catch(() => (opening = undefined));
    }
    return opening;
  };

  const decide = async (auth: SmtpAuthRequest, session: SmtpAuthSession): Promise<LoginDecision> => {
    const opened = await installation();
    return decideLogin(opened.context, { account: auth.username ?? '', secret: auth.password ?? '', protocol: 'smtp', ip: session.remoteAddress });
  };

  return (auth, session, callback) => {
    if (!METHODS.includes(auth.method.toUpperCase())) {
      callback(replyError(SMTP_REJECT));
      return;
    }
    decide(auth, session)
      .then(async (decision) => {
        if (decision.outcome === 'accepted') {
          callback(null, { user: decision.account });
          return;
        }
        if (decision.outcome === 'temporary-failure') {
          callback(replyError(SMTP_TEMPORARY));
          return;
        }
        if (decision.delayMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
        }
        callback(replyError(SMTP_REJECT));
      })
      .catch((error: Error) => {
        options.logger?.error({ event: 'login', protocol: 'smtp', ip: session.remoteAddress, result: 'temporary-failure', cause: error.message }, 'login could not be decided');
        callback(replyError(SMTP_TEMPORARY));
      });
  };
}
