// A submission with nodemailer (npm), for `smtpspec client --exec` (see docs/clients.md).
// Usage: node nodemailer_client.js HOST PORT FROM MSGFILE TO[,TO...] [--starttls] [--cafile F] [--user U --password P]
// The message file is sent as is (raw), to the envelope recipients given.
// NODE_PATH must reach a node_modules with nodemailer (e.g. npm install nodemailer).
"use strict";
const fs = require("fs");
const nodemailer = require("nodemailer");

const [host, port, from, msgfile, to, ...rest] = process.argv.slice(2);
const opt = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const starttls = rest.includes("--starttls");
const cafile = opt("--cafile");
const user = opt("--user");

const transport = nodemailer.createTransport({
  host,
  port: Number(port),
  secure: false,
  requireTLS: starttls,
  ignoreTLS: !starttls && !user,
  tls: cafile ? { ca: fs.readFileSync(cafile), servername: "localhost" } : { rejectUnauthorized: false },
  auth: user ? { user, pass: opt("--password") } : undefined,
  connectionTimeout: 20000,
  greetingTimeout: 20000,
  socketTimeout: 20000,
});

transport
  .sendMail({ envelope: { from, to: to.split(",") }, raw: fs.readFileSync(msgfile) })
  .then((info) => {
    // No process.exit(): nodemailer ends the session (QUIT) after the promise
    // settles; exiting at once would cut it off and misjudge the library.
    console.log("accepted", info.accepted, "rejected", info.rejected);
  })
  .catch((err) => {
    console.error(err.message);
    process.exitCode = 1;
  });
