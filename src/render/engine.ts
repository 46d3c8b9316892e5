// Handlebars set up for config files, not HTML: no escaping (noEscape), and a missing variable is
// an error (strict). Quoting is explicit, one helper per target language:
//   {{sh x}}  shell (shq from src/util/quote.ts; an array becomes several quoted words)
//   {{kq x}}  keepalived.conf (src/render/keepalived-quote.ts)
//   {{kraw x}} a raw keepalived fragment, verbatim and indented (checked by inventory/raw-fragment.ts)
// TEMPLATES says which language each template is; test/unit/render-templates.test.ts fails when a
// shell or keepalived template prints a value without its helper.
import Handlebars from 'handlebars';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { templatesDir } from '../paths.js';
import { shq } from '../util/quote.js';
import { kq } from './keepalived-quote.js';
import { indentRaw, rawFragmentProblem } from '../inventory/raw-fragment.js';

export type TemplateLanguage = 'shell' | 'keepalived' | 'unit' | 'plain';

/** Every template (templates/<name>.hbs) with its target language. Partials are in templates/partials/. */
export const TEMPLATES = {
  'director.sh': 'shell',
  'realserver.sh': 'shell',
  'lvsctl.init': 'shell',
  'keepalived.conf': 'keepalived',
  'keepalived-killmode.conf': 'unit',
  'lvsctl.service': 'unit',
  'sysctl.conf': 'plain',
  'modules-load.conf': 'plain',
  'iptables.rules': 'plain',
} as const satisfies Record<string, TemplateLanguage>;
export type TemplateName = keyof typeof TEMPLATES;

/** Partials and the language of the templates that include them. */
export const PARTIALS: Record<string, TemplateLanguage> = {
  'sh-common': 'shell',
  'ka-real-server': 'keepalived',
  'ka-vrrp-scripts': 'keepalived',
};

const hb = Handlebars.create();
hb.registerHelper('sh', (v: unknown) => {
  if (Array.isArray(v)) return v.map((x) => shq(x as string | number)).join(' ');
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`{{sh}} got ${typeof v}`);
  return shq(v);
});
hb.registerHelper('kq', (v: unknown) => {
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`{{kq}} got ${typeof v}`);
  return kq(v);
});
// The schema checked it already; checked again so no path around validation prints one unchecked.
hb.registerHelper('kraw', (v: unknown) => {
  const problem = typeof v === 'string' ? rawFragmentProblem(v) : `got ${typeof v}`;
  if (problem) throw new Error(`{{kraw}}: ${problem}`);
  return indentRaw(v as string, '    ');
});

let compiled: Map<string, HandlebarsTemplateDelegate> | undefined;

function load(): Map<string, HandlebarsTemplateDelegate> {
  const opts = { noEscape: true, strict: true };
  for (const f of readdirSync(join(templatesDir, 'partials')).sort()) {
    if (f.endsWith('.hbs'))
      hb.registerPartial(f.slice(0, -4), hb.compile(readFileSync(join(templatesDir, 'partials', f), 'utf8'), opts));
  }
  const m = new Map<string, HandlebarsTemplateDelegate>();
  for (const name of Object.keys(TEMPLATES))
    m.set(name, hb.compile(readFileSync(join(templatesDir, `${name}.hbs`), 'utf8'), opts));
  return m;
}

/** Renders one template; templates are read once from the package's templates/ folder. */
export function renderTemplate(name: TemplateName, context: object): string {
  compiled ??= load();
  return compiled.get(name)!(context);
}

export const templatePath = (name: string, partial = false): string =>
  join(templatesDir, partial ? 'partials' : '', `${name}.hbs`);
