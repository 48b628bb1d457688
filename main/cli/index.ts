// `segloop` command line. Each command lives in main/cli/commands/<name>.ts and registers itself
// through COMMANDS below; every command accepts --json for scripts.
import { Command } from 'commander';
import { COMMANDS } from './commands';
import { reportCliError } from './output';

const program = new Command();
program
  .name('segloop')
  .description('Segloop: local segmentation labelling, training and active learning')
  .showHelpAfterError()
  .exitOverride();

for (const register of COMMANDS) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportCliError(err, process.argv.includes('--json'));
}
