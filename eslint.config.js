// Lint rules for src/, test/ and bench/ (`npm run lint`; .ci/run runs it through `npm test`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of src/, lowest first. A module may import from its own layer and the layers below it,
// never from a layer above: the pipeline reads bottom-up (inventory -> desired -> facts -> plan ->
// apply -> engine), and the command line sits on top of everything. A resource module holds one
// kind's facts, plan step and command, so resources/ sits with facts (which runs its fragments),
// below plan and apply (which drive and dispatch to it); OS families and init systems are data below.
const LAYERS = [
  ['util', '.'], // util/ and the files at the top of src/ (errors, paths)
  ['identity'], // canonical addresses, address:port, service keys
  ['inventory'],
  ['ipvs', 'ssh'],
  ['render'],
  ['os'],
  ['facts', 'desired', 'resources'],
  ['plan'],
  ['apply'],
  ['engine', 'verify'],
  ['status'],
  ['cli'],
];

const layering = LAYERS.flatMap((folders, i) => {
  const above = LAYERS.slice(i + 1).flat();
  if (!above.length) return [];
  const files = folders.map((f) => (f === '.' ? 'src/*.ts' : `src/${f}/**/*.ts`));
  return [
    {
      files,
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `(^|/)(${above.join('|')})/`,
                message: `a lower layer (${folders.join(', ')}) must not import a higher one (${above.join(', ')}); see LAYERS in eslint.config.js`,
              },
            ],
          },
        ],
      },
    },
  ];
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.lab/**', 'test/golden/**', 'rendered/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'max-len': [
        'error',
        { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      'no-nested-ternary': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['bin/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  ...layering,
);
