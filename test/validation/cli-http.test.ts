/** `cdr validate` (exit codes, human and --json output) and the validation router. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { Command } from 'commander';
import { runValidate, registerValidateCommand, type CliIo } from '../../core/cli/commands/validate.ts';
import { commandLoaders } from '../../core/cli/commands/index.ts';
import { createValidationRouter } from '../../core/validation/http.ts';
import { loadValidator } from '../../core/validation/index.ts';
import * as fx from './fixtures.ts';

let dir: string;
const file = (name: string, content: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
};
const capture = (): CliIo & { stdout: string; stderr: string } => {
  const io = { stdout: '', stderr: '', out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-validate-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cdr validate', () => {
  it('is registered on the CLI', async () => {
    expect(await commandLoaders.validate!()).toBe(registerValidateCommand);
    const program = new Command();
    registerValidateCommand(program);
    expect(program.commands.map((c) => c.name())).toContain('validate');
  });

  it('exits 0 for a valid resource', async () => {
    const io = capture();
    expect(await runValidate(file('ok.json', JSON.stringify(fx.patient())), {}, io)).toBe(0);
    expect(io.stdout).toMatch(/VALID \(0 error/);
  });

  it('exits 1 and lists the issues for an invalid resource', async () => {
    const p = fx.patient();
    p.gender = 'xyz';
    const io = capture();
    expect(await runValidate(file('bad.json', JSON.stringify(p)), {}, io)).toBe(1);
    expect(io.stdout).toMatch(/INVALID/);
    expect(io.stdout).toMatch(/Patient\.gender/);
  });

  it('--json prints an OperationOutcome', async () => {
    const p = fx.patient();
    p.gender = 'xyz';
    const io = capture();
    expect(await runValidate(file('bad2.json', JSON.stringify(p)), { json: true }, io)).toBe(1);
    const oo = JSON.parse(io.stdout) as { resourceType: string; issue: Array<{ expression?: string[] }> };
    expect(oo.resourceType).toBe('OperationOutcome');
    expect(oo.issue.some((i) => i.expression?.[0] === 'Patient.gender')).toBe(true);
  });

  it('--profile applies a profile the resource does not declare', async () => {
    const a = fx.allergy();
    delete a.meta;
    delete a.note;
    const f = file('allergy.json', JSON.stringify(a));
    expect(await runValidate(f, {}, capture())).toBe(0);
    expect(await runValidate(f, { profile: `${fx.RL}RLAllergyIntoleranceCore` }, capture())).toBe(1);
  });

  it('exits 2 for an unreadable file, non-JSON, a non-resource, or an unknown --profile', async () => {
    const io = capture();
    expect(await runValidate(path.join(dir, 'missing.json'), {}, io)).toBe(2);
    expect(await runValidate(file('text.json', 'not json'), {}, io)).toBe(2);
    expect(await runValidate(file('obj.json', '{"a":1}'), {}, io)).toBe(2);
    expect(await runValidate(file('ok2.json', JSON.stringify(fx.patient())), { profile: `${fx.RL}RLNope` }, io)).toBe(2);
    expect(io.stderr).toMatch(/unknown profile/);
  });
});

describe('createValidationRouter', () => {
  let app: express.Express;
  beforeAll(async () => {
    app = express();
    app.use('/validate', createValidationRouter(await loadValidator()));
  });

  it('answers 200 with an OperationOutcome', async () => {
    const p = fx.patient();
    p.gender = 'xyz';
    const res = await request(app).post('/validate').send(p);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toContainEqual(expect.objectContaining({ code: 'code-invalid', expression: ['Patient.gender'] }));
  });

  it('takes ?profile= and accepts application/fhir+json', async () => {
    const a = fx.allergy();
    delete a.meta;
    delete a.note;
    const res = await request(app)
      .post(`/validate?profile=${encodeURIComponent(`${fx.RL}RLAllergyIntoleranceCore`)}`)
      .set('content-type', 'application/fhir+json')
      .send(JSON.stringify(a));
    expect(res.status).toBe(200);
    expect(res.body.issue).toContainEqual(expect.objectContaining({ expression: ['AllergyIntolerance.note'] }));
  });

  it('400 for a body that is not a resource, bad JSON, or an unknown profile', async () => {
    expect((await request(app).post('/validate').send({ a: 1 })).status).toBe(400);
    expect((await request(app).post('/validate').set('content-type', 'application/json').send('{bad')).status).toBe(400);
    expect((await request(app).post('/validate?profile=http://x/y').send(fx.patient())).status).toBe(400);
  });
});
