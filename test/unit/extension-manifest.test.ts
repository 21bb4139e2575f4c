import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { COMMANDS } from '../../src/extension/commands.ts';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: {
    commands: Array<{ command: string }>;
    menus: Record<string, Array<{ command: string }>>;
    views: Record<string, Array<{ id: string }>>;
    yamlValidation: Array<{ url: string }>;
  };
};

describe('extension manifest', () => {
  it('every command in package.json is registered, and every registered command is contributed', () => {
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(contributed, Object.keys(COMMANDS).sort());
  });
  it('menus only name contributed commands', () => {
    const known = new Set(Object.keys(COMMANDS));
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items) assert.ok(known.has(item.command), `${menu} names unknown command ${item.command}`);
    }
  });
});

describe('the JSON schema for *.assets.yaml', () => {
  const schemaFile = path.join(ROOT, manifest.contributes.yamlValidation[0]!.url);
  const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
  it('accepts the demo workspace and the README example', () => {
    const demo = parse(readFileSync(path.join(ROOT, 'examples', 'demo', 'pipeline.assets.yaml'), 'utf8'));
    assert.ok(validate(demo), JSON.stringify(validate.errors));
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const example = /## Asset definitions[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    assert.ok(validate(parse(example)), JSON.stringify(validate.errors));
    const costs = /## Costs and budgets[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    assert.ok(validate(parse(costs)), JSON.stringify(validate.errors));
    assert.equal(validate(parse('assets:\n  a:\n    cost: { per_run: 1, per_hour: 2 }\n')), false);
  });
  it('rejects unknown keys and malformed partitions, as the loader does', () => {
    assert.equal(validate(parse('assets:\n  a:\n    dep: [b]\n')), false);
    assert.equal(validate(parse('assets:\n  a:\n    partitions: { dayly: { start: 2024-01-01 } }\n')), false);
    assert.equal(validate(parse('assets:\n  a:\n    partitions: { daily: { start: 2024-01-01 }, static: [x] }\n')), false);
    assert.equal(validate(parse('assets:\n  a:\n    deps: [{ asset: b, mapping: { ofset: -1 } }]\n')), false);
  });
});
