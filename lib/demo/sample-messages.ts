/**
 * The messages of `mailbox-poller demo`: five small messages, CRLF line ends as on the wire, each showing
 * something that must reach the store unchanged (encoded words, 8-bit text, lines that start with a dot,
 * a MIME attachment). Shipped in the package so that the demo needs no file and no mail server.
 */

export interface SampleMessage {
  /** What this message shows, printed beside its stored copy. */
  readonly what: string;
  readonly bytes: Buffer;
}

function crlf(text: string): Buffer {
  return Buffer.from(text.replaceAll('\n', '\r\n'), 'utf8');
}

export const SAMPLE_MESSAGES: readonly SampleMessage[] = [
  {
    what: 'plain text',
    bytes: crlf(`From: Ada Lovelace <ada@example.com>
To: support@example.com
Subject: Printer on floor 3 is jammed again
Date: Mon, 3 Mar 2025 09:15:00 +0000
Message-ID: <demo-1@example.com>

Hello support,
the printer next to the kitchen is jammed again.
Ada
`),
  },
  {
    what: 'RFC 2047 encoded subject',
    bytes: crlf(`From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: invoices@example.com
Subject: =?UTF-8?B?UmVjaG51bmcgTnIuIDQyIOKAkyBNw6RyeiAyMDI1?=
Date: Tue, 4 Mar 2025 10:00:00 +0100
Message-ID: <demo-2@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Invoice 42 is attached in spirit.
`),
  },
  {
    what: '8-bit UTF-8 body',
    bytes: crlf(`From: Zoë <zoe@example.fr>
To: support@example.com
Subject: Grüße aus Köln
Date: Wed, 5 Mar 2025 11:30:00 +0100
Message-ID: <demo-3@example.fr>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Schöne Grüße, ça va? 日本語も大丈夫です。
`),
  },
  {
    what: 'lines that start with a dot',
    bytes: crlf(`From: Grace Hopper <grace@example.com>
To: archive@example.com
Subject: Lines starting with dots
Date: Thu, 6 Mar 2025 12:00:00 +0000
Message-ID: <demo-4@example.com>

The next line is a single dot, which POP3 must stuff and unstuff:
.
..two dots
.hidden file name
`),
  },
  {
    what: 'multipart with an attachment',
    bytes: crlf(`From: Scanner <scanner@example.com>
To: invoices@example.com, archive@example.com
Subject: Scanned document
Date: Fri, 7 Mar 2025 13:45:00 +0000
Message-ID: <demo-5@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

One page attached.
--b1
Content-Type: application/octet-stream; name="page.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
--b1--
`),
  },
];
