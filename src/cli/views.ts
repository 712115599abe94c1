import type { AppPasswordStatus, DeviceStatus } from '../core/accounts';
import type { LastUse } from '../core/model';
import type { TotpSettings } from '../core/totp';
import { cell, formatTime, isoTime } from './output';

// JSON shapes of the records the CLI prints. Times are ISO 8601 strings; secrets never appear.

export interface LastUseView {
  readonly at?: string;
  readonly ip: string;
  readonly protocol: string;
}

export function lastUseView(lastUse: LastUse | undefined): LastUseView | undefined {
  return lastUse ? { at: isoTime(lastUse.at), ip: lastUse.ip, protocol: lastUse.protocol } : undefined;
}

export function lastUseText(lastUse: LastUse | undefined): string {
  return lastUse ? `${formatTime(lastUse.at)} from ${cell(lastUse.ip)} (${cell(lastUse.protocol)})` : 'never';
}

/** Describes a device's TOTP settings as `secret set` prints them, for example "SHA1, 6 digits, 30 s". */
export function totpSettingsText(settings: TotpSettings): string {
  return `${settings.algorithm.toUpperCase()}, ${settings.digits} digits, ${settings.period} s`;
}

export function deviceView(device: DeviceStatus) {
  return {
    id: device.id,
    name: device.name,
    algorithm: device.settings.algorithm.toUpperCase(),
    digits: device.settings.digits,
    period: device.settings.period,
    createdAt: isoTime(device.createdAt),
    lastUse: lastUseView(device.lastUse),
  };
}

export function appPasswordView(entry: AppPasswordStatus, now: number) {
  return {
    id: entry.id,
    name: entry.name,
    scopes: entry.scopes,
    createdAt: isoTime(entry.createdAt),
    expiresAt: isoTime(entry.expiresAt),
    expired: entry.expiresAt !== undefined && entry.expiresAt <= now,
    lastUse: lastUseView(entry.lastUse),
  };
}

// The TOTP column comes last so that scripts reading the earlier columns by position keep working.
export function deviceRows(devices: readonly DeviceStatus[]): string[][] {
  return devices.map((device) => [device.id, cell(device.name), formatTime(device.createdAt), lastUseText(device.lastUse), totpSettingsText(device.settings)]);
}

export const DEVICE_HEADER = ['ID', 'NAME', 'CREATED', 'LAST USED', 'TOTP'];

export function appPasswordRows(entries: readonly AppPasswordStatus[], now: number): string[][] {
  return entries.map((entry) => [
    entry.id,
    cell(entry.name),
    entry.scopes.join(','),
    formatTime(entry.createdAt),
    lastUseText(entry.lastUse),
    entry.expiresAt === undefined ? 'never' : `${formatTime(entry.expiresAt)}${entry.expiresAt <= now ? ' (expired)' : ''}`,
  ]);
}

export const APP_PASSWORD_HEADER = ['ID', 'NAME', 'SCOPES', 'CREATED', 'LAST USED', 'EXPIRES'];
