import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildOtpauthUri,
  checkCode,
  DEFAULT_TOTP_SETTINGS,
  decodeSecretKey,
  generateCode,
  normalizeSecretKey,
  parseOtpauthUri,
  timeStepAt,
} from '../../src/core/totp';
import { isTwoStepError } from '../../src/core/errors';
import { RFC_CODES, RFC_KEY } from '../helpers/installation';

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const RFC_VECTORS: ReadonlyArray<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

// RFC 6238 Appendix B for SHA-256 and SHA-512, whose seeds are the same digits repeated to 32
// and 64 bytes (base32 below), with 8-digit codes.
const RFC_SHA256_KEY = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA';
const RFC_SHA512_KEY = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA';
const RFC_LONG_VECTORS: ReadonlyArray<[number, string, string]> = [
  [59, '46119246', '90693936'],
  [1111111109, '68084774', '25091201'],
  [1111111111, '67062674', '99943326'],
  [1234567890, '91819424', '93441116'],
  [2000000000, '90698825', '38618901'],
  [20000000000, '77737706', '47863826'],
];

describe('totp', () => {
  describe('RFC 6238 vectors', () => {
    for (const [seconds, sha256, sha512] of RFC_LONG_VECTORS) {
      it(`SHA-256 and SHA-512 at t=${seconds}`, async () => {
        assert.equal(await generateCode(RFC_SHA256_KEY, seconds, { algorithm: 'sha256', digits: 8, period: 30 }), sha256);
        assert.equal(await generateCode(RFC_SHA512_KEY, seconds, { algorithm: 'sha512', digits: 8, period: 30 }), sha512);
      });
    }

    it('checkCode SHA-512 one step back', async () => {
      const settings = { algorithm: 'sha512', digits: 8, period: 30 } as const;
      assert.deepEqual(await checkCode(RFC_SHA512_KEY, '25091201', 1111111109 + 30, settings, 1), { valid: true, timeStep: 37037036 });
      assert.deepEqual(await checkCode(RFC_SHA512_KEY, '25091201', 1111111109 + 60, settings, 1), { valid: false });
    });

    for (const [seconds, expected] of RFC_VECTORS) {
      it(`8 digits at t=${seconds}`, async () => {
        assert.equal(await generateCode(RFC_KEY, seconds, { ...DEFAULT_TOTP_SETTINGS, digits: 8 }), expected);
      });
      it(`6 digits at t=${seconds}`, async () => {
        assert.equal(await generateCode(RFC_KEY, seconds, DEFAULT_TOTP_SETTINGS), expected.slice(2));
      });
    }

    it('codes by time step match the table', async () => {
      for (const [step, code] of Object.entries(RFC_CODES)) {
        assert.equal(await generateCode(RFC_KEY, Number(step) * 30, DEFAULT_TOTP_SETTINGS), code);
      }
    });
  });

  describe('step boundaries', () => {
    it('last second of a step and first of the next', async () => {
      assert.equal(await generateCode(RFC_KEY, 1111111079, DEFAULT_TOTP_SETTINGS), '731029');
      assert.equal(await generateCode(RFC_KEY, 1111111080, DEFAULT_TOTP_SETTINGS), '081804');
      assert.equal(timeStepAt(1111111079, 30), 37037035);
      assert.equal(timeStepAt(1111111080, 30), 37037036);
    });
  });

  describe('checkCode', () => {
    it('accepts the window of one step each side', async () => {
      for (const code of ['081804', '050471', '266759']) {
        const result = await checkCode(RFC_KEY, code, 1111111110, DEFAULT_TOTP_SETTINGS, 1);
        assert.equal(result.valid, true, code);
      }
    });

    it('rejects codes two steps away', async () => {
      for (const code of ['731029', '306183']) {
        assert.deepEqual(await checkCode(RFC_KEY, code, 1111111110, DEFAULT_TOTP_SETTINGS, 1), { valid: false });
      }
    });

    it('window 0 rejects the previous step', async () => {
      assert.deepEqual(await checkCode(RFC_KEY, '081804', 1111111110, DEFAULT_TOTP_SETTINGS, 0), { valid: false });
    });

    it('returns the matched time step', async () => {
      assert.deepEqual(await checkCode(RFC_KEY, '081804', 1111111110, DEFAULT_TOTP_SETTINGS, 1), { valid: true, timeStep: 37037036 });
    });

    it('leading zeros count', async () => {
      for (const code of ['81804', '0081804', ' 081804', '08180x']) {
        assert.deepEqual(await checkCode(RFC_KEY, code, 1111111109, DEFAULT_TOTP_SETTINGS, 1), { valid: false }, JSON.stringify(code));
      }
      assert.equal((await checkCode(RFC_KEY, '081804', 1111111109, DEFAULT_TOTP_SETTINGS, 1)).valid, true);
    });
  });

  describe('normalizeSecretKey', () => {
    it('accepts lower case groups and hyphens', async () => {
      const grouped = normalizeSecretKey('gezd gnbv gy3t qojq gezd gnbv gy3t qojq');
      const hyphens = normalizeSecretKey('GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ');
      assert.equal(grouped, RFC_KEY);
      assert.equal(hyphens, RFC_KEY);
      assert.equal(await generateCode(grouped, 59, DEFAULT_TOTP_SETTINGS), '287082');
    });

    it('keeps a 16-character key without padding', () => {
      assert.equal(normalizeSecretKey('JBSWY3DPEHPK3PXP'), 'JBSWY3DPEHPK3PXP');
      assert.equal(decodeSecretKey('JBSWY3DPEHPK3PXP').length, 10);
    });

    it('strips = padding', () => {
      assert.equal(normalizeSecretKey('JBSWY3DPEHPK3PXPJBSWY3DPEE======'), 'JBSWY3DPEHPK3PXPJBSWY3DPEE');
    });

    it('decodes a 26-character key', async () => {
      const key = normalizeSecretKey('JBSWY3DPEHPK3PXPJBSWY3DPEH');
      assert.equal(decodeSecretKey(key).length, 16);
      assert.match(await generateCode(key, 59, DEFAULT_TOTP_SETTINGS), /^\d{6}$/);
    });

    const rejected: ReadonlyArray<[string, RegExp]> = [
      ['JBSWY3DPEHPK3PX0', /outside base32/],
      ['JBSWY3DPEHPK3PX1', /outside base32/],
      ['JBSWY3DPEHPK3PX8', /outside base32/],
      ['JBSWY3DPEHPK3PX9', /outside base32/],
      ['JBSWY3DPEHPK3PX', /15 characters/],
      ['JBSWY3DPEHPK3PXPJ', /17 characters is not a length that base32 can produce/],
      ['', /0 characters/],
      ['JBSWY3DPEHPK3PXP!', /outside base32/],
    ];
    for (const [input, message] of rejected) {
      it(`rejects ${JSON.stringify(input)} with the rule`, () => {
        assert.throws(
          () => normalizeSecretKey(input),
          (error: unknown) => isTwoStepError(error, 'ERR_INVALID_SECRET_KEY') && message.test(error.message) && /A-Z and digits 2-7/.test(error.message),
        );
      });
    }

    it('property: any 10-64 random bytes round-trip through base32 typing variants', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 10, maxLength: 64 }), fc.boolean(), fc.boolean(), (bytes, lower, grouped) => {
          const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
          let bits = '';
          for (const byte of bytes) {
            bits += byte.toString(2).padStart(8, '0');
          }
          let encoded = '';
          for (let i = 0; i < bits.length; i += 5) {
            encoded += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
          }
          let typed = lower ? encoded.toLowerCase() : encoded;
          if (grouped) {
            typed = typed.replace(/(.{4})/g, '$1 ');
          }
          const key = normalizeSecretKey(typed);
          assert.equal(key, encoded);
          assert.deepEqual(Buffer.from(decodeSecretKey(key)), Buffer.from(bytes));
        }),
      );
    });

    it('property: the normaliser either returns base32 or throws ERR_INVALID_SECRET_KEY', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 200 }), (input) => {
          try {
            const key = normalizeSecretKey(input);
            assert.match(key, /^[A-Z2-7]{16,128}$/);
          } catch (error) {
            assert.ok(isTwoStepError(error, 'ERR_INVALID_SECRET_KEY'));
          }
        }),
      );
    });
  });

  describe('otpauth URI', () => {
    it('encodes spaces as %20, never +', () => {
      const uri = buildOtpauthUri('Example Mail', 'john doe', 'JBSWY3DPEHPK3PXP');
      assert.ok(uri.startsWith('otpauth://totp/Example%20Mail:john%20doe?'), uri);
      assert.ok(uri.includes('issuer=Example%20Mail'), uri);
      assert.ok(!uri.includes('+'), uri);
    });

    it('encodes UTF-8 accounts', () => {
      const uri = buildOtpauthUri('Example Mail', 'jürgen@example.org', 'JBSWY3DPEHPK3PXP');
      assert.ok(uri.includes('Example%20Mail:j%C3%BCrgen%40example.org'), uri);
    });

    it('a colon in the issuer is no second separator', () => {
      const uri = buildOtpauthUri('Mail: Example', 'john@example.org', 'JBSWY3DPEHPK3PXP');
      const label = uri.slice('otpauth://totp/'.length, uri.indexOf('?'));
      assert.equal(label.split(':').length, 2, label);
      const parsed = parseOtpauthUri(uri);
      assert.equal(parsed.issuer, 'Mail: Example');
      assert.equal(parsed.account, 'john@example.org');
    });

    it('keeps the secret unpadded', () => {
      const uri = buildOtpauthUri('Example', 'a@example.org', 'JBSWY3DPEHPK3PXPJBSWY3DPEE');
      assert.ok(uri.includes('secret=JBSWY3DPEHPK3PXPJBSWY3DPEE&'), uri);
      assert.ok(!uri.includes('='.repeat(2)), uri);
    });

    it('rejects malformed URIs by what is wrong', () => {
      const key = 'JBSWY3DPEHPK3PXP';
      const cases: [string, RegExp][] = [
        ['otpauth://totp/Example:a@example.org?issuer=Example&digits=6', /^invalid otpauth URI: it has no secret parameter, expected otpauth:\/\/totp\/LABEL\?secret=KEY/],
        ['otpauth://totp/Example:a@example.org', /^invalid otpauth URI: it has no secret parameter/],
        ['otpauth://totp/Example:a@example.org?secret=&issuer=Example', /^invalid otpauth URI: the secret parameter is empty$/],
        ['otpauth://totp/Example:a@example.org?secret', /^invalid otpauth URI: the secret parameter is empty$/],
        [`otpauth://hotp/Example:a@example.org?secret=${key}&counter=0`, /^invalid otpauth URI: type hotp \(counter-based codes\) is not supported/],
        [`otpauth://motp/Example:a@example.org?secret=${key}`, /^invalid otpauth URI: the type is "motp", expected totp/],
        [`https://example.org/totp/a@example.org?secret=${key}`, /^invalid otpauth URI: the scheme is "https", expected otpauth:\/\/totp\//],
        [`otpauth:/totp/a@example.org?secret=${key}`, /^invalid otpauth URI: expected otpauth:\/\/totp\/LABEL\?secret=KEY/],
        [`otpauth://totp/a@example.org?secret=${key}%G1`, /^invalid otpauth URI: the secret parameter has a broken percent-encoding/],
        [`otpauth://totp/a%E0@example.org?secret=${key}`, /^invalid otpauth URI: the label has a broken percent-encoding/],
        [`otpauth://totp/a@example.org?secret=${key}&digits=six`, /^invalid otpauth URI: the digits parameter "six" is not a whole number$/],
        [`otpauth://totp/a@example.org?secret=${key}&period=`, /^invalid otpauth URI: the period parameter "" is not a whole number$/],
      ];
      for (const [uri, message] of cases) {
        assert.throws(
          () => parseOtpauthUri(uri),
          (error: unknown) => {
            assert.ok(isTwoStepError(error, 'ERR_INVALID_INPUT'), `${uri}: ${String(error)}`);
            assert.match(error.message, message, uri);
            assert.ok(!error.message.includes(key), `the message shows the secret key: ${error.message}`);
            return true;
          },
        );
      }
    });

    it('accepts scheme and type in any case', () => {
      const parsed = parseOtpauthUri('OTPAUTH://TOTP/Example:a@example.org?secret=JBSWY3DPEHPK3PXP&digits=8&period=60&');
      assert.equal(parsed.secret, 'JBSWY3DPEHPK3PXP');
      assert.equal(parsed.account, 'a@example.org');
      assert.equal(parsed.digits, 8);
      assert.equal(parsed.period, 60);
    });

    it('parses back to the same issuer and account', () => {
      fc.assert(
        fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ minLength: 1, maxLength: 30 }), (issuer, account) => {
          const parsed = parseOtpauthUri(buildOtpauthUri(issuer, account, 'JBSWY3DPEHPK3PXP'));
          assert.equal(parsed.issuer, issuer);
          assert.equal(parsed.account, account);
          assert.equal(parsed.secret, 'JBSWY3DPEHPK3PXP');
        }),
      );
    });
  });
});
