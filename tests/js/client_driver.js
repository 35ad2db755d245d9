// Drives static/js/learnpulse.js from a test: prints every status and message as a JSON line on
// stdout; reads commands from stdin ("drop": cut the socket as a network failure would; "quit").
// Usage: node --experimental-websocket client_driver.js <path to learnpulse.js> <base url> <ws path> <token>
const [libraryPath, baseUrl, path, token] = process.argv.slice(2);
const { Live } = require(libraryPath);
const readline = require("readline");

let tokensIssued = 0;
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const live = new Live({
  url: baseUrl, path, minDelay: 1500, maxDelay: 4000,
  getToken: async () => { tokensIssued += 1; return token; },
  onStatus: (status, detail) => say({ status, detail, tokensIssued }),
  onMessage: (message) => say({ message }),
  onResync: (channel) => say({ resync: channel }),
});

readline.createInterface({ input: process.stdin }).on("line", (command) => {
  if (command === "drop" && live.socket) live.socket.close(4000, "test drops the connection");
  if (command === "quit") { live.close(); setTimeout(() => process.exit(0), 100); }
});
