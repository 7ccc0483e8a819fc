"""Data subject requests: intake, the workflow and its record of compliance, staff handling, fulfilment, reminders.

Modules, in the order a request meets them:

- `models`: the request, its events, correspondence, evidence, fulfilment steps and reminders; contact inquiries.
- `intake`: submit, prove who you are (signed-in account, e-mail link, SMS code), answer a question, withdraw.
- `workflow`: which status may follow which; the SLA inputs and the event every change writes.
- `staff`: what the privacy team does (verify, assign, start, ask, extend, complete, reject, evidence).
- `phone_proof`: proving a mobile number (SMS code in the privacy centre, or staff); only a proven number reaches
  the messages sent to it.
- `fulfilment`: run a verified request's export, erasure, objections or corrections (`privacy.data` does the work).
- `reporting`: `fulfilment_report`, the one way a fulfilment step tells its request how it stands.
- `correspondence`, `delivery`, `tasks`: every e-mail is logged first and sent by a task after commit.
- `reminders`: reminders, expiry, stuck steps and escalation (periodic, each idempotent).
- `inquiries`: the contact form and its 48-business-hour answers.
- `selectors`, `forms`, `views`, `admin`, `api`: reads and the pages around them.
"""
