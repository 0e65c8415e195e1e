/**
 * The validator of schema/config.schema.json. Here it is compiled by ajv at first use; the bundles
 * (scripts/build.mjs) replace this module with the same validator compiled at build time (ajv standalone
 * code, from configAjv below), so a cold start neither loads ajv's compiler nor compiles the schema
 * (bench/notes.md, "Reading the numbers"). Both paths take the options from configAjv, so they cannot differ.
 */
import { Ajv2020, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import schema from '../../schema/config.schema.json' with { type: 'json' };
import { PROBLEM_KEYWORD } from './schema-errors.ts';

export { schema as configSchema };

/** The ajv instance the config schema is compiled with; `extra` adds options (the build's `code`). */
export function configAjv(extra: Options = {}): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, ...extra });
  // ajv-formats is CommonJS; its plugin is `.default` however the module is loaded.
  ajvFormats.default(ajv, ['hostname', 'ipv4', 'ipv6']);
  ajv.addKeyword({ keyword: PROBLEM_KEYWORD, schemaType: 'string' });
  return ajv;
}

export function compileConfigValidator<T>(): ValidateFunction<T> {
  return configAjv().compile<T>(schema);
}
