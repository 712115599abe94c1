import { Agent, request } from 'node:http';

export interface AuthAnswer {
  readonly status: number;
  readonly authStatus?: string;
}

/** A keep-alive HTTP client that asks like nginx's mail proxy (`auth_http`) does. */
export class NginxAuthClient {
  private readonly agent: Agent;

  constructor(private readonly port: number, connections: number, private readonly authKey: string) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  ask(path: string, user: string, pass: string, clientIp = '127.0.0.1', protocol = 'imap'): Promise<AuthAnswer> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          method: 'GET',
          agent: this.agent,
          headers: {
            'X-TwoStep-Key': this.authKey,
            'Auth-Method': 'plain',
            // nginx escapes only space, % and control bytes in these two headers.
            'Auth-User': user.replace(/%/g, '%25').replace(/ /g, '%20'),
            'Auth-Pass': pass.replace(/%/g, '%25').replace(/ /g, '%20'),
            'Auth-Protocol': protocol,
            'Auth-Login-Attempt': '1',
            'Client-IP': clientIp,
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            const header = response.headers['auth-status'];
            resolve({ status: response.statusCode ?? 0, authStatus: Array.isArray(header) ? header[0] : header });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
