/*
 * LearnPulse live-update client: connect, authenticate, resume, reconnect.
 *
 *   const live = new LearnPulse.Live({
 *     url: "wss://api.example.edu",          // default: this page's host
 *     path: "/ws/dashboard/",                // or /ws (then pass `channels`), /ws/alerts/, ...
 *     getToken: async () => fetchToken(),    // called before every (re)connect
 *     onMessage: (message) => render(message),
 *     onStatus: (status, detail) => badge(status),   // connecting|open|reconnecting|refused|closed
 *     onResync: (channel) => refetchOverRest(channel),
 *   });
 *   live.subscribe("learner:L1");   // on /ws only
 *   live.close();
 *
 * The token goes in the first message, not the URL, so it stays out of proxy and access logs.
 * Message ids are global: a message published to several channels has one id on all of them, and
 * `channels` lists them. The client keeps the last id it received (a named endpoint delivers in id
 * order, so that one id resumes all of its channels) and, for /ws, the last id of each channel it
 * follows (advanced for every followed channel a message lists); a reconnect sends them as `last_id`,
 * so the server replays what was missed (or answers `resync` when it is older than it keeps).
 * onMessage sees each id once: the server sends a message once per socket, and the client also drops
 * an id it has already seen (a channel re-followed with an older resume point replays what it had).
 * Reconnects back off exponentially with jitter (0.5 s doubling to 30 s) and reset once open.
 * Close codes 4400 and 4404 mean "do not retry"; 4401 retries with a fresh token.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.LearnPulse = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var FINAL_CODES = { 4400: "bad request", 4404: "nothing to follow" };

  function Live(options) {
    if (!options || typeof options.getToken !== "function") throw new Error("LearnPulse.Live needs getToken()");
    this.options = options;
    this.path = options.path || "/ws/dashboard/";
    this.url = (options.url || defaultOrigin()).replace(/^http/, "ws").replace(/\/$/, "") + this.path;
    this.channels = (options.channels || []).slice();  // followed on /ws
    this.lastIds = Object.assign({}, options.lastIds || {});  // followed channel -> last id that carried it
    this.lastId = options.lastId || null;  // the last id received on any channel
    this.followed = this.channels.slice();  // channels the server confirmed (named endpoints: theirs)
    this.seen = new Set();  // recent ids, to hand each message to onMessage once
    this.seenOrder = [];
    this.seenLimit = options.seenLimit || 5000;
    this.minDelay = options.minDelay || 500;
    this.maxDelay = options.maxDelay || 30000;
    this.heartbeat = options.heartbeat || 20000;
    this.WebSocket = options.WebSocket || (typeof WebSocket !== "undefined" ? WebSocket : null);
    this.attempt = 0;
    this.stopped = false;
    this.socket = null;
    this.status = "idle";
    this.connect();
  }

  function defaultOrigin() {
    return typeof location !== "undefined" ? location.origin : "http://127.0.0.1:5000";
  }

  Live.prototype.setStatus = function (status, detail) {
    this.status = status;
    if (this.options.onStatus) this.options.onStatus(status, detail);
  };

  Live.prototype.connect = async function () {
    if (this.stopped) return;
    this.setStatus(this.attempt ? "reconnecting" : "connecting", { attempt: this.attempt });
    var token;
    try {
      token = await this.options.getToken();
    } catch (error) {
      return this.retry("could not get a token: " + error);
    }
    if (this.stopped) return;
    var socket = new this.WebSocket(this.url);
    this.socket = socket;
    var self = this;
    socket.onopen = function () {
      var auth = { type: "auth", token: token };
      if (self.path !== "/ws" && self.lastId) auth.last_id = self.lastId;
      socket.send(JSON.stringify(auth));
      if (self.path === "/ws" && self.channels.length) self.sendSubscribe(self.channels);  // one frame: backlogs merge in id order
      self.startHeartbeat(socket);
    };
    socket.onmessage = function (event) { self.receive(event.data); };
    socket.onclose = function (event) {
      self.stopHeartbeat();
      if (self.socket !== socket) return;
      self.socket = null;
      if (self.stopped) return self.setStatus("closed", { code: event.code });
      if (FINAL_CODES[event.code]) {
        self.stopped = true;
        return self.setStatus("refused", { code: event.code, reason: self.lastError || FINAL_CODES[event.code] });
      }
      self.retry("closed with code " + event.code);
    };
    socket.onerror = function () { /* onclose follows and decides */ };
  };

  Live.prototype.retry = function (why) {
    if (this.stopped) return;
    var delay = Math.min(this.maxDelay, this.minDelay * Math.pow(2, this.attempt));
    delay = delay / 2 + Math.random() * delay / 2;  // jitter: clients do not come back in lockstep
    this.attempt += 1;
    this.setStatus("reconnecting", { attempt: this.attempt, delay: Math.round(delay), why: why });
    var self = this;
    this.timer = setTimeout(function () { self.connect(); }, delay);
  };

  // "1700000000000-3" -> [1700000000000, 3]; ids compare as numbers, ms first.
  function later(a, b) {
    if (!b) return true;
    var x = a.split("-").map(Number), y = b.split("-").map(Number);
    return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
  }

  Live.prototype.receive = function (raw) {
    var message;
    try { message = JSON.parse(raw); } catch (error) { return; }
    this.lastHeard = Date.now();
    if (message.type === "subscribed") {
      this.followed = message.data.channels.slice();
      if (this.attempt || this.status !== "open") this.setStatus("open", { channels: message.data.channels });
      this.attempt = 0;
    } else if (message.type === "error") {
      this.lastError = message.data && message.data.message;
    } else if (message.type === "resync") {
      delete this.lastIds[message.channel];
      if (this.options.onResync) this.options.onResync(message.channel, message);
    }
    if (message.id && this.remember(message)) return;  // seen already: not handed over twice
    if (message.type !== "pong" && this.options.onMessage) this.options.onMessage(message);
  };

  // Advance the resume points this message moves; true if its id was seen before.
  Live.prototype.remember = function (message) {
    var self = this;
    (message.channels || [message.channel]).forEach(function (channel) {
      if (self.followed.indexOf(channel) >= 0 && later(message.id, self.lastIds[channel])) self.lastIds[channel] = message.id;
    });
    if (later(message.id, this.lastId)) this.lastId = message.id;
    if (this.seen.has(message.id)) return true;
    this.seen.add(message.id);
    this.seenOrder.push(message.id);
    if (this.seenOrder.length > this.seenLimit) this.seen.delete(this.seenOrder.shift());
    return false;
  };

  // A channel followed before that carried no message yet resumes from the last id received at all:
  // nothing it carried after that point was delivered (each channel comes in id order). A channel
  // followed for the first time starts now.
  Live.prototype.resumePoint = function (channel) {
    return this.lastIds[channel] || (this.followed.indexOf(channel) >= 0 ? this.lastId : null);
  };

  // One channel, or a list of them in one frame (the server then merges their backlogs in id order).
  Live.prototype.sendSubscribe = function (channels) {
    var self = this, list = [].concat(channels), from = {}, resumed = false;
    list.forEach(function (channel) {
      var point = self.resumePoint(channel);
      if (point) { from[channel] = point; resumed = true; }
    });
    var request = list.length === 1 ? { type: "subscribe", channel: list[0] } : { type: "subscribe", channels: list };
    if (resumed) request.last_id = list.length === 1 ? from[list[0]] : from;
    this.send(request);
  };

  Live.prototype.send = function (message) {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  };

  Live.prototype.subscribe = function (channel) {
    if (this.channels.indexOf(channel) < 0) this.channels.push(channel);
    this.sendSubscribe(channel);
  };

  Live.prototype.unsubscribe = function (channel) {
    this.channels = this.channels.filter(function (c) { return c !== channel; });
    this.followed = this.followed.filter(function (c) { return c !== channel; });
    delete this.lastIds[channel];
    this.send({ type: "unsubscribe", channel: channel });
  };

  // Ping every `heartbeat` ms; a socket silent for two intervals is presumed dead and replaced.
  Live.prototype.startHeartbeat = function (socket) {
    var self = this;
    this.lastHeard = Date.now();
    this.stopHeartbeat();
    this.pinger = setInterval(function () {
      if (Date.now() - self.lastHeard > 2 * self.heartbeat) {
        socket.close();
        if (self.socket === socket) { self.socket = null; self.retry("no answer to heartbeats"); }
        return;
      }
      self.send({ type: "ping" });
    }, this.heartbeat);
  };

  Live.prototype.stopHeartbeat = function () {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
  };

  Live.prototype.close = function () {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopHeartbeat();
    if (this.socket) this.socket.close(1000);
    else this.setStatus("closed", {});
  };

  return { Live: Live };
});
