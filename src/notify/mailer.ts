import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import { domainOf } from '../core/account';
import { getBranding, type EffectiveBranding } from '../core/branding';
import type { AccountEvent, Logger, TwoStepContext } from '../core/context';
import { composeNotice, isNotified } from './messages';
import type { NotifyOptions } from './options';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * Emails account owners about changes to their 2-Step Verification through an SMTP server,
 * by default the local one. Sending runs in the background of the action that caused it, and
 * `close()` waits for what is still being sent.
 */
export class MailNotifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly transport: nodemailer.Transporter;

  constructor(
    private readonly options: NotifyOptions,
    private readonly logger: Logger,
  ) {
    this.transport = nodemailer.createTransport({
      host: options.smtpHost,
      port: options.smtpPort,
      secure: false,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      // On loopback the message never leaves the machine, and local MTAs often offer
      // STARTTLS with a self-signed certificate: checking it there would only block delivery.
      tls: { rejectUnauthorized: !isLoopback(options.smtpHost) },
    });
  }

  /** Sends the email for one account event. Resolves when it was sent or failed, and never rejects. */
  notify(context: TwoStepContext, event: AccountEvent): Promise<void> {
    if (!isNotified(event.action)) {
      return Promise.resolve();
    }
    const fields = { event: 'notification', action: event.action, account: event.account };
    const sending: Promise<void> = this.send(context, event)
      .then(() => this.logger.info(fields, 'notification sent'))
      .catch((error: Error) => this.logger.error({ ...fields, smtp_host: this.options.smtpHost, smtp_port: this.options.smtpPort, cause: error.message }, 'notification could not be sent'))
      .finally(() => this.pending.delete(sending));
    this.pending.add(sending);
    return sending;
  }

  /** Waits until every notification started so far was sent or failed. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.transport.close();
  }

  private async send(context: TwoStepContext, event: AccountEvent): Promise<void> {
    const domain = domainOf(event.account);
    const branding = await this.brandingFor(context, domain);
    const notice = composeNotice(event, { productName: branding.productName, panelUrl: context.options.panelUrl, helpText: branding.helpText });
    if (!notice) {
      return;
    }
    const sender = this.options.sender ?? `postmaster@${domain}`;
    await this.transport.sendMail({
      from: { name: branding.productName, address: sender },
      to: event.account,
      subject: notice.subject,
      text: notice.text,
      // RFC 3834: marks the message as automatic, so vacation responders send no reply to it.
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
  }

  /** Reads the domain's branding for the sender name; a store fault falls back to the default rather than dropping the email. */
  private async brandingFor(context: TwoStepContext, domain: string): Promise<Pick<EffectiveBranding, 'productName' | 'helpText'>> {
    try {
      return await getBranding(context, domain);
    } catch (error) {
      this.logger.error({ event: 'notification', domain, cause: (error as Error).message }, 'branding could not be read for a notification; using the default');
      return { productName: context.options.issuer };
    }
  }
}
