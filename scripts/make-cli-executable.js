// Sets the executable bits on the built `twostep` command. tsc writes files with mode 0644, and
// npx runs the command's file directly once it has cached the project's bin link.
const { chmodSync } = require('node:fs');
const { join } = require('node:path');

chmodSync(join(__dirname, '..', 'dist', 'src', 'cli', 'main.js'), 0o755);
