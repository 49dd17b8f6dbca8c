/**
 * Test entry standing in for the CLI's hidden `trellis health responder` subcommand:
 * `node responder-main.js --ip <ip> --port <port> --cluster <c> --node <n>`.
 */
import { parseResponderArgv, runResponder } from "../responder.js";

try {
  const { ip, port, identity } = parseResponderArgv(process.argv.slice(2));
  await runResponder(ip, port, identity);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
