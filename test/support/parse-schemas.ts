/**
 * The published schemas of the parse stage, compiled as consumers would (ajv, draft 2020-12, formats):
 * schema/parsed-document.schema.json and schema/email-parsed-event.schema.json.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

export type Json = Record<string, unknown>;

const schemaOf = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8'));

export const documentSchema = schemaOf('parsed-document.schema.json');
export const eventSchema = schemaOf('email-parsed-event.schema.json');

export const ajv = new Ajv2020({ allErrors: true });
addFormats.default(ajv);
export const validDocument: ValidateFunction = ajv.compile(documentSchema);
export const validEvent: ValidateFunction = ajv.compile(eventSchema);

/** Valid, or the test fails with ajv's errors. */
export function expectValid(validate: ValidateFunction, value: unknown): void {
  expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
}
