import type { AppPasswordStatus, DeviceStatus } from '../core/accounts';
import type { LastUse } from '../core/model';
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

export function deviceView(device: DeviceStatus) {
  return { id: device.id, name: device.name, createdAt: isoTime(device.createdAt), lastUse: lastUseView(device.lastUse) };
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

export function deviceRows(devices: readonly DeviceStatus[]): string[][] {
  return devices.map((device) => [device.id, cell(device.name), formatTime(device.createdAt), lastUseText(device.lastUse)]);
}

export const DEVICE_HEADER = ['ID', 'NAME', 'CREATED', 'LAST USED'];

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
