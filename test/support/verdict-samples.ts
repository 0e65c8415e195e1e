/**
 * Header sections written by hand after the public formats of each provider and filter (field order and
 * wording as they stamp them; names, addresses, ids and signatures made up), and a helper that runs one
 * through buildNotification the way the pipeline does.
 */
import { buildNotification } from '../../lib/notification/build.ts';
import { HeaderCollector } from '../../lib/notification/header-section.ts';
import type { ReceivedNotification, SesReceipt } from '../../lib/notification/types.ts';

/** The verdicts of a notification, flat, for table assertions. */
export interface VerdictRow {
  spf: string;
  dkim: string;
  dmarc: string;
  spam: string;
  dmarcPolicy?: string | undefined;
}

export function rowOf(receipt: SesReceipt): VerdictRow {
  return {
    spf: receipt.spfVerdict.status,
    dkim: receipt.dkimVerdict.status,
    dmarc: receipt.dmarcVerdict.status,
    spam: receipt.spamVerdict.status,
    dmarcPolicy: receipt.dmarcPolicy,
  };
}

/** The notification for a message (header lines joined with CRLF), streamed through a HeaderCollector. */
export function notifyHeaders(
  header: string | Buffer,
  options: { host?: string; trustedAuthservId?: string | string[]; maxHeaderBytes?: number } = {},
): ReceivedNotification {
  const text =
    typeof header === 'string' ? Buffer.from(`${header.replace(/\r?\n/g, '\r\n')}\r\n\r\nbody\r\n`) : header;
  const collector = new HeaderCollector(options.maxHeaderBytes);
  for (let at = 0; at < text.length && !collector.done; at += 4096)
    collector.write(text.subarray(at, at + 4096));
  const { body } = buildNotification({
    mailboxId: 'inbox',
    host: options.host ?? 'pop.example.com',
    username: 'alice',
    uidl: 'u1',
    size: text.length,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    retrievedAt: new Date('2025-03-03T09:02:10.000Z'),
    processingTimeMillis: 5,
    bucketName: 'bucket',
    objectKey: 'inbox/u1',
    headerBytes: collector.headerBytes(),
    headerSectionTruncated: collector.truncated,
    trustedAuthservId: options.trustedAuthservId,
  });
  return JSON.parse(body) as ReceivedNotification;
}

/** What a sender wrote: below every field the receiving side prepended. */
export const SENDER_FIELDS = `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=20230601;
        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject:date:message-id;
        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=Xy1Zab2cQ3dE
From: Billing <billing@example.com>
To: alice@gmail.com
Subject: Invoice 4711
Date: Mon, 3 Mar 2025 10:02:01 +0100
Message-ID: <4711@example.com>
MIME-Version: 1.0
Content-Type: text/plain`;

/** Gmail (pop.gmail.com): its A-R field is below its own Received and Received-SPF fields. */
export function gmail(authenticationResults: string, below = SENDER_FIELDS): string {
  return `Delivered-To: alice@gmail.com
Received: by 2002:a05:6520:2a8c:b0:2b4:7e2f:1c3a with SMTP id k12csp1234567lkq;
        Mon, 3 Mar 2025 01:02:03 -0800 (PST)
X-Received: by 2002:a17:907:7b8c:b0:abc:1234:5678 with SMTP id jc12mr1234567ejc.12.1740992523456;
        Mon, 03 Mar 2025 01:02:03 -0800 (PST)
ARC-Seal: i=1; a=rsa-sha256; t=1740992523; cv=none; d=google.com; s=arc-20240605; b=QmFzZTY0
ARC-Authentication-Results: i=1; mx.google.com; dkim=pass header.i=@example.com header.s=20230601
Return-Path: <billing@example.com>
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])
        by mx.google.com with SMTPS id a1sor1234567wrb.12.2025.03.03.01.02.03
        for <alice@gmail.com>
        (Google Transport Security);
        Mon, 03 Mar 2025 01:02:03 -0800 (PST)
Received-SPF: pass (google.com: domain of billing@example.com designates 209.85.220.41 as permitted sender) client-ip=209.85.220.41;
Authentication-Results: ${authenticationResults}
${below}`;
}

export const GMAIL_PASS = `mx.google.com;
       dkim=pass header.i=@example.com header.s=20230601 header.b=Xy1Zab2c;
       spf=pass (google.com: domain of billing@example.com designates 209.85.220.41 as permitted sender) smtp.mailfrom=billing@example.com;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com`;

export const GMAIL_SPOOFED = `mx.google.com;
       spf=softfail (google.com: domain of transitioning billing@bank.example does not designate 198.51.100.7 as permitted sender) smtp.mailfrom=billing@bank.example;
       dmarc=fail (p=QUARANTINE sp=NONE dis=QUARANTINE) header.from=bank.example`;

/**
 * Microsoft 365: internal Received fields above; the A-R field (no authserv-id) above Received-SPF and the
 * Received field of the frontend that took the message from the internet; the X-MS / Forefront fields
 * Exchange writes come after the sender's fields.
 */
export function microsoft365(authenticationResults: string, spam: string): string {
  return `Received: from SN6PR04MB4009.namprd04.prod.outlook.com (2603:10b6:805:3e::18) by
 BY5PR04MB6739.namprd04.prod.outlook.com with HTTPS; Mon, 3 Mar 2025 09:02:05 +0000
Received: from BN9PR03CA0451.namprd03.prod.outlook.com (2603:10b6:408:139::6) by
 SN6PR04MB4009.namprd04.prod.outlook.com (2603:10b6:805:3e::18) with Microsoft
 SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id
 15.20.8489.25; Mon, 3 Mar 2025 09:02:04 +0000
Received: from BN2PEPF000044A9.namprd04.prod.outlook.com
 (2603:10b6:408:139:cafe::5c) by BN9PR03CA0451.outlook.office365.com
 (2603:10b6:408:139::6) with Microsoft SMTP Server (version=TLS1_3,
 cipher=TLS_AES_256_GCM_SHA384) id 15.20.8489.25 via Frontend Transport; Mon,
 3 Mar 2025 09:02:04 +0000
Authentication-Results: ${authenticationResults}
Received-SPF: Pass (protection.outlook.com: domain of example.com designates
 209.85.128.50 as permitted sender) receiver=protection.outlook.com;
 client-ip=209.85.128.50; helo=mail-wm1-f50.google.com; pr=C
Received: from mail-wm1-f50.google.com (209.85.128.50) by
 BN2PEPF000044A9.mail.protection.outlook.com (10.167.243.100) with Microsoft
 SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8489.16
 via Frontend Transport; Mon, 3 Mar 2025 09:02:03 +0000
${SENDER_FIELDS}
X-MS-Exchange-Organization-ExpirationStartTime: 03 Mar 2025 09:02:04.1234
X-MS-Exchange-Organization-Network-Message-Id: 53ececd2-f6f2-4daf-0e4c-08d55f0e06d9
X-MS-Exchange-Organization-AuthSource: BN2PEPF000044A9.namprd04.prod.outlook.com
X-MS-Exchange-Organization-AuthAs: Anonymous
${spam}`;
}

export const MICROSOFT_PASS = `spf=pass (sender IP is 209.85.128.50)
 smtp.mailfrom=example.com; dkim=pass (signature was verified)
 header.d=example.com;dmarc=pass action=none
 header.from=example.com;compauth=pass reason=100`;

export const MICROSOFT_SPOOFED = `spf=fail (sender IP is 198.51.100.7)
 smtp.mailfrom=bank.example; dkim=none (message not signed)
 header.d=none;dmarc=fail action=oreject header.from=bank.example;compauth=fail
 reason=000`;

export const MICROSOFT_CLEAN = `X-MS-Exchange-Organization-SCL: 1
X-Forefront-Antispam-Report: CIP:209.85.128.50;CTRY:US;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:mail-wm1-f50.google.com;PTR:mail-wm1-f50.google.com;CAT:NONE;SFS:(13230040)(61400799027);DIR:INB;`;

export const MICROSOFT_SPAM = `X-MS-Exchange-Organization-SCL: 9
X-Forefront-Antispam-Report: CIP:198.51.100.7;CTRY:ZZ;LANG:en;SCL:9;SRV:;IPV:NLI;SFV:SPM;H:mx.bank.example;PTR:;CAT:SPOOF;SFS:(13230040);DIR:INB;`;

/** Fastmail: Authentication Milter's field (authserv-id mx<N>.messagingengine.com) below its own Received fields. */
export function fastmail(dmarc: string): string {
  return `Return-Path: <bounce@example.org>
Received: from compute5.internal (compute5.nyi.internal [10.202.2.45])
	 by sloti12.nyi.internal (Cyrus 3.11.0) with LMTPA;
	 Mon, 03 Mar 2025 04:02:04 -0500
Received: from mx6.messagingengine.com (localhost [127.0.0.1])
  by mx6.messagingengine.com (Authentication Milter) with ESMTP
  id 1A2B3C4D5E6; Mon, 3 Mar 2025 04:02:04 -0500
ARC-Authentication-Results: i=1; mx6.messagingengine.com; dkim=pass header.d=example.org
Authentication-Results: mx6.messagingengine.com;
    dkim=pass (2048-bit rsa key sha256) header.d=example.org
      header.i=@example.org header.b=AbCdEf12 header.a=rsa-sha256 header.s=fm3 x-bits=2048;
    ${dmarc}
    spf=pass smtp.mailfrom=bounce@example.org smtp.helo=mail.example.org;
    x-aligned-from=pass (Address match);
    x-tls=pass smtp.version=TLSv1.3 smtp.cipher=TLS_AES_256_GCM_SHA384 smtp.bits=256/256
X-ME-Proxy: <xme:abc>
Received: from mail.example.org (mail.example.org [192.0.2.25])
	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
	by mx6.messagingengine.com (Postfix) with ESMTPS
	for <alice@fastmail.com>; Mon,  3 Mar 2025 04:02:03 -0500 (EST)
${SENDER_FIELDS}`;
}

/** A self-run Postfix with rspamd as milter (authserv-id mail.example.com). */
export function rspamd(
  spamFields: string,
  dmarc = 'dmarc=pass (policy=reject) header.from=example.org',
): string {
  return `Authentication-Results: mail.example.com;
	dkim=pass header.d=example.org header.s=dkim header.b=Qm9ndXM1;
	${dmarc};
	spf=pass (mail.example.com: domain of "bounce@example.org" designates 192.0.2.25 as permitted sender) smtp.mailfrom=bounce@example.org
${spamFields}
X-Rspamd-Server: mail
X-Rspamd-Queue-Id: 4Z6K1y0xYzz9sQ8
Received: from mail.example.org (mail.example.org [192.0.2.25])
	by mail.example.com (Postfix) with ESMTPS id 4Z6K1y0xYzz9sQ8
	for <alice@example.com>; Mon,  3 Mar 2025 10:02:03 +0100 (CET)
${SENDER_FIELDS}`;
}

/** Postfix with OpenDMARC, an SPF milter and OpenDKIM: one field each, prepended in the same pass. */
export function openDkimOpenDmarc(spamFields: string): string {
  return `${spamFields}
Authentication-Results: mail.example.com; dmarc=fail (p=reject dis=none) header.from=example.org
Authentication-Results: mail.example.com; spf=permerror smtp.mailfrom=example.org
Authentication-Results: mail.example.com;
	dkim=fail reason="signature verification failed" (2048-bit key; unprotected) header.d=example.org header.i=@example.org header.b="Qm9ndXM1"
Received: from mail.example.org (mail.example.org [192.0.2.25])
	by mail.example.com (Postfix) with ESMTPS id 830E5115158
	for <alice@example.com>; Mon,  3 Mar 2025 10:02:03 +0100 (CET)
${SENDER_FIELDS}`;
}
