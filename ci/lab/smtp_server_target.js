#!/usr/bin/env node
// smtp-server (nodemailer's, npm) as a lab target for smtpspec.
//
// Usage: NODE_PATH=$LAB/node_modules node smtp_server_target.js PORT MAILDIR CERT KEY
//
// SMTPServer with its defaults, plus only what the lab needs:
//   key/cert         STARTTLS with the lab certificate (secure: false = plain port
//                    that offers STARTTLS, the package default once a key is given)
//   authOptional     true: the default (false) answers MAIL with 530 until AUTH, which
//                    no inbound MX does; AUTH stays advertised (after STARTTLS, as by
//                    default)
//   onAuth           accepts the lab's test account smtpspec/smtpspec (smtpspec's default
//                    --auth-user/--auth-password); without it every AUTH fails
//   disableReverseLookup  true: no DNS (the default looks up the client's PTR)
//   name             a fixed host name instead of os.hostname()
//   onRcptTo         the lab's recipient policy: user@, user2@, postmaster@example.test
//                    and the bare <Postmaster> (RFC 5321 4.5.1), case-insensitive;
//                    other example.test addresses 550 5.1.1, other domains 550 5.7.1
//                    (the package default accepts every recipient)
//   onData           stores the message (as received, dot-unstuffed) as one file per
//                    recipient in a Maildir MAILDIR/<mailbox>/new/
// Everything else (size, maxClients, banner, timeouts, SMTPUTF8/8BITMIME handling,
// hideSTARTTLS=false, allowInsecureAuth=false, ...) is the package's default.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { SMTPServer } = require('smtp-server');

const [port, maildir, certFile, keyFile] = process.argv.slice(2);
if (!port || !maildir || !certFile || !keyFile) {
  console.error('usage: smtp_server_target.js PORT MAILDIR CERT KEY');
  process.exit(2);
}
const DOMAIN = 'example.test';
const MAILBOXES = new Set(['user', 'user2', 'postmaster']);

function refuse(code, text) {
  const err = new Error(text);
  err.responseCode = code;
  return err;
}

function store(box, content) {
  const dir = path.join(maildir, box);
  for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const name = `${Date.now()}.${process.pid}.${crypto.randomBytes(8).toString('hex')}.smtp-server`;
  fs.writeFileSync(path.join(dir, 'tmp', name), content);
  fs.renameSync(path.join(dir, 'tmp', name), path.join(dir, 'new', name));
}

const server = new SMTPServer({
  secure: false,
  key: fs.readFileSync(keyFile),
  cert: fs.readFileSync(certFile),
  name: 'smtp-server.lab.test',
  authOptional: true,
  disableReverseLookup: true,
  onAuth(auth, session, callback) {
    if (auth.username === 'smtpspec' && auth.password === 'smtpspec') return callback(null, { user: 'smtpspec' });
    return callback(refuse(535, '5.7.8 Authentication credentials invalid'));
  },
  onRcptTo(address, session, callback) {
    const at = address.address.lastIndexOf('@');
    if (at < 0 && address.address.toLowerCase() === 'postmaster') return callback();
    const local = address.address.slice(0, at).toLowerCase();
    const domain = address.address.slice(at + 1).toLowerCase();
    if (domain !== DOMAIN) return callback(refuse(550, '5.7.1 Relaying denied'));
    if (!MAILBOXES.has(local)) return callback(refuse(550, '5.1.1 User unknown'));
    return callback();
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('error', callback);
    stream.on('end', () => {
      if (stream.sizeExceeded) return callback(refuse(552, 'Error: message exceeds fixed maximum message size'));
      const content = Buffer.concat(chunks);
      try {
        for (const rcpt of session.envelope.rcptTo) {
          const at = rcpt.address.lastIndexOf('@');
          store((at < 0 ? rcpt.address : rcpt.address.slice(0, at)).toLowerCase(), content);
        }
      } catch (e) {
        return callback(refuse(451, '4.3.0 Could not store the message'));
      }
      return callback();
    });
  },
});

server.on('error', (err) => console.error('smtp-server error:', err.message));
server.listen(Number(port), '127.0.0.1', () => {
  const version = require(path.join(path.dirname(require.resolve('smtp-server')), '..', '..', 'package.json')).version;
  console.log(`smtp-server ${version} listening on 127.0.0.1:${port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
