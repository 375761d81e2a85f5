/** zod parsers from an environment string to a typed value. */
import { z } from 'zod';

export const intIn = (min: number, max: number) =>
  z.string().trim().regex(/^-?\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));

export const numberIn = (min: number, max: number) =>
  z.string().trim().regex(/^\d+(\.\d+)?$/).transform(Number).pipe(z.number().min(min).max(max));

export const bool = () =>
  z.string().trim().toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

export const oneOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z.string().trim().toUpperCase().pipe(z.enum(values));

export const ttl = () =>
  intIn(1, 86400).refine((n) => n === 1 || n >= 60);

export const httpUrl = () =>
  z.string().trim().pipe(z.url({ protocol: /^https?$/ })).transform((u) => u.replace(/\/+$/, ''));

export const text = () => z.string();
