// The commands the example API server's containers can exec: enough to test exec end to end.
// `echo`, `cat` (stdin to stdout until stdin closes), `true`, `false` and `sh -c "exit N"`;
// anything else fails the way a missing executable fails in the container runtime.

/** What a running command can do. `exit` and `fail` end it; later output is dropped. */
export interface CommandIO {
  stdout(data: Buffer | string): void;
  stderr(data: Buffer | string): void;
  exit(code: number): void;
  /** The runtime could not run the command at all (kubelet answers InternalError). */
  fail(message: string): void;
}

/** How a started command takes its stdin; a command that never reads it has none. */
export interface StdinReader {
  data(chunk: Buffer): void;
  end(): void;
}

/** `sh` knows one script: `exit N`, which is what tests of exit codes need. */
function shell(args: readonly string[], io: CommandIO): undefined {
  const script = args[0] === '-c' ? args[1] : undefined;
  const exit = script === undefined ? null : /^\s*exit(?:\s+(\d+))?\s*$/.exec(script);
  if (exit) return void io.exit(Number(exit[1] ?? 0) % 256);
  io.stderr('sh: the example container only runs "sh -c \'exit N\'"\n');
  io.exit(2);
}

/** Starts `command`; returns where its stdin goes, or undefined when it does not read stdin. */
export function startCommand(command: readonly string[], io: CommandIO): StdinReader | undefined {
  const [name = '', ...args] = command;
  switch (name) {
    case 'echo':
      io.stdout(args.join(' ') + '\n');
      return void io.exit(0);
    case 'true':
      return void io.exit(0);
    case 'false':
      return void io.exit(1);
    case 'sh':
      return shell(args, io);
    case 'cat':
      if (args.length === 0) return { data: (chunk) => io.stdout(chunk), end: () => io.exit(0) };
      io.stderr(`cat: ${args[0]}: No such file or directory\n`);
      return void io.exit(1);
    default:
      // runc's words, which kubelet passes on inside its InternalError.
      return void io.fail(`exec: "${name}": executable file not found in $PATH`);
  }
}
