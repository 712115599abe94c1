import assert from 'node:assert/strict';
import { logoDataUrl, parseAccent, parseHelpText, parseLogo, parseProductName } from '../../src/core/branding';
import { isTwoStepError } from '../../src/core/errors';

const svg = (body: string) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg">${body}</svg>`);

describe('branding values', function () {
  it('detects logo types by content', () => {
    assert.equal(parseLogo(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])).mediaType, 'image/jpeg');
    assert.equal(parseLogo(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])).mediaType, 'image/png');
    assert.equal(parseLogo(Buffer.from('\uFEFF<?xml version="1.0"?>\n<!-- made by hand -->\n<svg width="1"></svg>')).mediaType, 'image/svg+xml');
    assert.equal(logoDataUrl(parseLogo(svg(''))), `data:image/svg+xml;base64,${svg('').toString('base64')}`);
  });

  it('accepts SVG references inside the file', () => {
    const body = '<defs><linearGradient id="g"/></defs><rect fill="url(#g)"/><use href="#g"/><use xlink:href=\'#g\'/>';
    assert.equal(parseLogo(svg(body)).mediaType, 'image/svg+xml');
  });

  it('rejects unsafe SVG markup', () => {
    const unsafe = [
      '<script>alert(1)</script>',
      '<SCRIPT>alert(1)</SCRIPT>',
      '<rect onclick="alert(1)"/>',
      '<rect\nonmouseover = "alert(1)"/>',
      '<a href="javascript:alert(1)"><rect/></a>',
      '<image href="https://example.com/tracker.png"/>',
      '<use xlink:href="other.svg#x"/>',
      '<rect style="fill:url(https://example.com/x)"/>',
      '<style>@import "https://example.com/x.css";</style>',
      '<foreignObject><div>x</div></foreignObject>',
    ];
    for (const body of unsafe) {
      assert.throws(() => parseLogo(svg(body)), (error) => isTwoStepError(error, 'ERR_INVALID_INPUT'), body);
    }
  });

  it('rejects other files as logos', () => {
    assert.throws(() => parseLogo(Buffer.from('GIF89a')), /expected a PNG, JPEG or SVG image/);
    assert.throws(() => parseLogo(Buffer.from('<html><svg></svg></html>')), /expected a PNG, JPEG or SVG image/);
    assert.throws(() => parseLogo(Buffer.alloc(0)), /the file is empty/);
    assert.throws(() => parseLogo(Buffer.concat([svg(''), Buffer.alloc(64 * 1024, 0x20)])), /over the limit of 65536 bytes/);
  });

  it('checks colours, names and help text', () => {
    assert.equal(parseAccent(' #A1b2C3 '), '#a1b2c3');
    for (const bad of ['', 'red', '#abc', 'a1b2c3', '#a1b2c3;', 'rgb(1,2,3)', '#a1b2c3 x']) {
      assert.throws(() => parseAccent(bad), /invalid accent colour/, JSON.stringify(bad));
    }
    assert.equal(parseProductName('  Example <Mail>  '), 'Example <Mail>');
    assert.throws(() => parseProductName('two\nlines'), /invalid product name/);
    assert.equal(parseHelpText('a\r\nb\rc'), 'a\nb\nc');
    assert.throws(() => parseHelpText('tab\there'), /invalid help text/);
    assert.equal(parseHelpText('z'.repeat(500)).length, 500);
  });
});
