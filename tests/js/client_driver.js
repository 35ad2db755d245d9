// Drives static/js/learnpulse.js from a test: prints every status and message as a JSON line on
// stdout; reads commands from stdin ("drop": cut the socket as a network failure would; "quit";
// "rewind <channel> <id>": follow a channel again from an older id, so the server replays messages
// the client already has and the client must hand each id over once).
// Usage: node --experimental-websocket client_driver.js <path to learnpulse.js> <base url> <ws path> <token> [channels,...]
const [libraryPath, baseUrl, path, token, channels] = process.argv.slice(2);
const { Live } = require(libraryPath);
const readline = require("readline");

let tokensIssued = 0;
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const live = new Live({
  url: baseUrl, path, minDelay: 1500, maxDelay: 4000,
  channels: channels ? channels.split(",") : [],
  getToken: async () => { tokensIssued += 1; return token; },
  onStatus: (status, detail) => say({ status, detail, tokensIssued }),
  onMessage: (message) => say({ message }),
  onResync: (channel) => say({ resync: channel }),
});

const receive = live.receive.bind(live);  // report every frame with an id, before de-duplication
live.receive = (raw) => { const { id } = JSON.parse(raw); if (id) say({ frame: id }); receive(raw); };

readline.createInterface({ input: process.stdin }).on("line", (command) => {
  const [verb, channel, id] = command.split(" ");
  if (verb === "drop" && live.socket) live.socket.close(4000, "test drops the connection");
  if (verb === "rewind") {
    live.unsubscribe(channel);
    live.lastIds[channel] = id;
    live.subscribe(channel);
    say({ rewound: channel, lastIds: live.lastIds, lastId: live.lastId });
  }
  if (verb === "quit") { live.close(); setTimeout(() => process.exit(0), 100); }
});
