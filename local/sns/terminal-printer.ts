import type { OutboxMessage, OutboxSubscriber } from './sns';

/**
 * An outbox subscriber that shows each notification in the terminal: topic, subject and message body (links
 * included: the approval link is meant to be clicked). Attributes are not printed, and every value in `redact`
 * (the local secrets) is masked wherever it appears, so a handler that leaks a secret into a message does not
 * put it on screen.
 */
export function terminalPrinter(options: { write?: (text: string) => void; redact?: () => readonly string[] } = {}): OutboxSubscriber {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  return (message: OutboxMessage) => write(formatNotification(message, options.redact?.() ?? []));
}

export function formatNotification(message: OutboxMessage, redact: readonly string[] = []): string {
  let text = `\n[notification] ${message.time} ${message.topic}${message.subject ? `: ${message.subject}` : ''}\n${indent(message.message)}\n`;
  for (const secret of redact) if (secret.length >= 8) text = text.split(secret).join('********');
  return text;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
