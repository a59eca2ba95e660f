// ESLint (flat config) for the standalone page's script, campfire/views/htmlpage/page.js
// (`make lint-js` runs it from the repository root: `--config widgets/eslint.page.mjs`).
// page.js is not a module: the page builder puts it before each Bokeh CustomJS callback's
// one-line call, so its functions are locals of that callback; `/* exported */` names them.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["campfire/views/htmlpage/page.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: globals.browser,
    },
    rules: {
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-shadow": "error",
      "no-var": "error",
      "prefer-const": "error",
    },
  },
];
