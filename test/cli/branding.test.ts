import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFailure, CliHome } from './cli-runner';

interface BrandingJson {
  domain: string;
  isDefault: boolean;
  productName: string;
  accent: string;
  logo: { mediaType: string; bytes: number } | null;
  helpText: string | null;
}

/** The eight-byte PNG signature followed by filler: enough for the type check. */
const PNG_BYTES = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 1)]);
const SVG_TEXT = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#123456"/></svg>\n';

describe('cli: branding', function () {
  let cli: CliHome;
  const domain = 'example.org';

  beforeEach(async () => {
    cli = new CliHome();
    await cli.json(['domain', 'add', domain]);
  });

  afterEach(() => {
    cli.remove();
  });

  const show = () => cli.json<BrandingJson>(['branding', 'show', domain]);

  function file(name: string, content: string | Buffer): string {
    const path = join(cli.home, name);
    writeFileSync(path, content);
    return path;
  }

  async function brandingAuditCount(): Promise<number> {
    const audit = await cli.json<{ events: { action: string }[] }>(['audit']);
    return audit.events.filter((event) => event.action.startsWith('branding-')).length;
  }

  it('shows the default before any change', async () => {
    const shown = await show();
    assert.equal(shown.isDefault, true);
    assert.equal(shown.productName, 'TwoStep');
    assert.equal(shown.accent, '#1f5fbf');
    assert.equal(shown.logo, null);
    assert.equal(shown.helpText, null);
  });

  it('sets, shows and clears branding', async () => {
    const logo = file('logo.png', PNG_BYTES);
    const set = await cli.json<BrandingJson>(['branding', 'set', 'Example.ORG', '--name', 'Example Mail', '--accent', '#AA00cc', '--logo', logo, '--help-text', 'Call the help desk\r\non 555-0100.']);
    assert.equal(set.domain, domain);
    assert.equal(set.isDefault, false);
    assert.equal(set.productName, 'Example Mail');
    assert.equal(set.accent, '#aa00cc');
    assert.deepEqual(set.logo, { mediaType: 'image/png', bytes: PNG_BYTES.length });
    assert.equal(set.helpText, 'Call the help desk\non 555-0100.');
    assert.deepEqual(await show(), set);

    const text = await cli.run(['branding', 'show', domain]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^Product name:  Example Mail$/m);
    assert.match(text.stdout, /^Logo:          image\/png, 108 bytes$/m);
    assert.match(text.stdout, /^Help text:     Call the help desk \/ on 555-0100\.$/m);

    const changed = await cli.json<BrandingJson>(['branding', 'set', domain, '--no-logo', '--logo', file('logo.svg', SVG_TEXT)]);
    assert.equal(changed.logo?.mediaType, 'image/svg+xml', 'the last of --logo and --no-logo wins');
    const removed = await cli.json<BrandingJson>(['branding', 'set', domain, '--no-name', '--no-help-text']);
    assert.equal(removed.productName, 'TwoStep');
    assert.equal(removed.helpText, null);
    assert.equal(removed.accent, '#aa00cc');

    const cleared = await cli.json<{ cleared: boolean }>(['branding', 'clear', domain]);
    assert.equal(cleared.cleared, true);
    assert.equal((await show()).isDefault, true);
    const again = await cli.run(['branding', 'clear', domain]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /example.org had no branding/);
  });

  it('writes an audit event per change', async () => {
    await cli.json(['branding', 'set', domain, '--name', 'Example Mail', '--accent', '#112233']);
    // The same name again and a new colour: only the colour is named; the same values again write no event.
    await cli.json(['branding', 'set', domain, '--name', 'Example Mail', '--accent', '#445566']);
    await cli.json(['branding', 'set', domain, '--name', 'Example Mail', '--accent', '#445566']);
    await cli.json(['branding', 'clear', domain]);
    const audit = await cli.json<{ events: { action: string; actor: string; detail: string }[] }>(['audit']);
    const branding = audit.events.filter((event) => event.action.startsWith('branding-'));
    assert.deepEqual(
      branding.map((event) => [event.action, event.detail]),
      [
        ['branding-cleared', domain],
        ['branding-set', `${domain}: accent colour`],
        ['branding-set', `${domain}: product name, accent colour`],
      ],
    );
    assert.match(branding[0].actor, /^cli:/);
  });

  it('rejects bad values and writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--accent', 'red'], /invalid accent colour "red": use #rrggbb with six hexadecimal digits/],
      [['--accent', '#12345'], /invalid accent colour "#12345"/],
      [['--accent', '#1234567'], /invalid accent colour/],
      [['--accent', '#12345g'], /invalid accent colour/],
      [['--accent', '#123456;background:url(x)'], /invalid accent colour/],
      [['--name', ''], /invalid product name: use 1-60 characters/],
      [['--name', 'x'.repeat(61)], /invalid product name: use 1-60 characters/],
      [['--name', 'Bad\u001b[31mName'], /invalid product name/],
      [['--help-text', 'y'.repeat(501)], /invalid help text: use 1-500 characters/],
      [['--logo', file('big.png', Buffer.concat([PNG_BYTES, Buffer.alloc(64 * 1024)]))], /invalid logo: .*big.png has 65644 bytes, over the limit of 65536 bytes/],
      [['--logo', file('logo.gif', Buffer.from('GIF89a\u0001\u0000\u0001\u0000'))], /invalid logo: expected a PNG, JPEG or SVG image/],
      [['--logo', file('notes.txt', 'just text')], /invalid logo: expected a PNG, JPEG or SVG image/],
      [['--logo', file('empty.png', '')], /invalid logo: the file is empty/],
      [['--logo', join(cli.home, 'missing.png')], /logo file .*missing.png not found or not readable/],
      [['--logo', file('script.svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')], /the SVG contains a script/],
      [['--logo', file('onload.svg', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>')], /the SVG contains a script/],
      [['--logo', file('remote.svg', '<svg xmlns="http://www.w3.org/2000/svg"><image href="https://example.com/x.png"/></svg>')], /external reference/],
      [['--logo', file('doctype.svg', '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg></svg>')], /invalid logo/],
    ];
    for (const [options, pattern] of cases) {
      // A good value next to the bad one must not be written either.
      assertFailure(await cli.run(['branding', 'set', domain, '--name', 'Half Written', ...options]), 1, pattern);
    }
    assert.equal((await show()).isDefault, true);
    assert.equal(await brandingAuditCount(), 0);
  });

  it('rejects an unknown domain', async () => {
    assertFailure(await cli.run(['branding', 'set', 'example.net', '--name', 'Net Mail']), 1, /domain example.net not found: add it first with "twostep domain add example.net"/);
    assertFailure(await cli.run(['branding', 'show', 'example.net']), 1, /domain example.net not found/);
    assertFailure(await cli.run(['branding', 'clear', 'example.net']), 1, /domain example.net not found/);
    assertFailure(await cli.run(['branding', 'set', 'not a domain', '--name', 'X']), 1, /invalid domain "not a domain"/);
    assert.equal(await brandingAuditCount(), 0);

    await cli.json(['domain', 'add', 'example.net']);
    assert.equal((await cli.json<BrandingJson>(['branding', 'show', 'example.net'])).isDefault, true, 'no record was left behind');
  });

  it('requires something to change', async () => {
    assertFailure(await cli.run(['branding', 'set', domain]), 2, /nothing to change: give --name, --logo, --accent or --help-text/);
    assertFailure(await cli.run(['branding', 'set']), 2, /missing required argument 'domain'/);
  });

  it('drops branding with its domain', async () => {
    await cli.json(['branding', 'set', domain, '--name', 'Example Mail']);
    await cli.json(['domain', 'remove', domain]);
    await cli.json(['domain', 'add', domain]);
    assert.equal((await show()).isDefault, true);
  });
});
