package scenarios

import "strings"

// Template is a commented scenario to start from (possim scenarios new).
// It runs as written; every key it shows is optional unless marked.
func Template(name string) string {
	return strings.ReplaceAll(templateText, "NAME", name)
}

const templateText = `# A possim scenario. Run it:   possim replay NAME.yaml
# Check it without running:     possim replay --dry-run NAME.yaml
# Scenario time is real time: keep timeouts under a second and waits short.

name: NAME                          # required: lower-case letters, digits, dashes
title: One line for possim scenarios list
description: |                      # required: written for a trainer
  MERCHANT SEES: what the shop sees on the terminal.
  WHAT REALLY HAPPENED: what possim shows is going on.
  HOW TO CONFIRM: what in the ladder (or a trace) proves it.
  HOW TO FIX: who fixes it, and how.
  THE USUAL CHECKLIST: power and cables / restart / network and signal /
  settings / call support: which would have helped, which not.
seed: 1                             # every random fault decision follows from it (--seed overrides)
timeout: 30s                        # bound on the whole run

host:
  dialect: iso87ascii               # iso87ascii (default) or iso87bin
  # length_header: binary2          # binary2, bcd2, ascii4
  # idle_timeout: 10m
  rules:                            # authorization rules, as in a --rules file
    rules:
      - name: slow issuer
        match: {amount: "7777"}     # amounts in minor units here (77.77)
        respond: {rc: "00", delay: 700ms}
    default: {rc: "00"}
  test_cards: true                  # keep the built-in test cards after these rules
  # keys: {tmk: test}               # MACs + working keys at sign-on; tmk: test is the public demo key,
  #                                 # or 32/48 hex digits; also alg, pad, fail_rc, key_change_timeout
  faults: []                        # fault rules active from the start (see possim faults)
  #  - {type: drop, mti: "0210", nth: 2, name: lost}

terminals:                          # required: at least one
  - id: T1                          # how steps name it
    tid: TERM0001                   # field 41
    timeout: 500ms                  # response timeout
    sign_on: true                   # sign on when the link comes up
    connect: start                  # start: connect before step 1; manual: a connect step does
    keep_connected: false           # true: reconnect, re-sign-on, send stored reversals, echo when idle
    # echo_idle: 300ms              # with keep_connected: echo test after this long idle
    reversal_attempts: 3            # 0400 + 0401 repeats before the reversal is stored
    reversal_backoff: 100ms         # wait before a repeat, doubling
    # length_header: ascii4         # a terminal speaking another framing than the host
    # bitmap: single128             # standard (default) or single128 (non-standard)
    # keys: host                    # the same TMK and MAC settings as the host
    # faults: []                    # the terminal's own faults (upstream)

steps:                              # required: played in order; at: 1.5s waits for that scenario time
  - send: purchase                  # purchase, preauth, refund, void, balance, echo, signon, signoff
    terminal: T1                    # default: the first terminal
    amount: "12.34"                 # currency units
    # card: "4000000000000002"      # a test card (see possim docs rules)
    expect: {outcome: approved, rc: "00", latency_max: 400ms}
  - add_fault: {type: drop, mti: "0210", count: 1, name: lost-answer}
    on: host                        # host (default) or a terminal id
  - send: purchase
    id: buy                         # name a step to refer to it below
    amount: "20.00"
    expect: {outcome: timeout_reversed, reversal: {acked: true, attempts: 1}}
  - remove_fault: lost-answer
  - send: purchase
    amount: "77.77"                 # the slow issuer: answers after the timeout
    id: slow
    expect: {outcome: timeout_reversed}
  - wait_for: event                 # link_up, link_down, signed_on, reversals_flushed, host_up, host_down, event
    event: {kind: late, side: T1}
    within: 2s
  - echo: T1
    expect: {outcome: approved}
  # Other steps:
  # - wait: 500ms
  # - sign_on: T1
  # - connect: T1                   # expect: {connected: false, why: "connect refused"}
  # - drop_link: host               # or a terminal id: that terminal's cable is pulled
  # - restart_host: 0s              # 0s: restart at once; 1s: down (connection refused) for 1 s
  # - set_rules: {default: {rc: "91"}}   # or set_rules: initial
  # - rotate_keys: T1               # host key change (needs keys:); notify: false = silently
  #   expect: {confirmed: true}
  # - send: purchase                # async: true starts it and goes on...
  #   id: bg
  #   async: true
  # - await: bg                     # ...await waits for its outcome
  #   expect: {outcome: link_failed}
  # - note: text shown in the ladder

expect:                             # checked at the end
  - reversal: buy                   # a reversal naming step buy's STAN
    within: 1s                      # first one sent within 1 s of the original
    repeats: 0                      # 0401 repeats (a count: 2, "1..3", ">=1")
    acked: true                     # a 0410 answered it
  - event: late                     # sent received late unmatched bad_message down fault log
    side: T1                        # host, terminal (any) or a terminal id
    stan_of: slow
    count: 1
  - sign_on: T1
    count: 1
  # - echo: T1                      # after: STEP, idle: 300ms, answered: true|false, count
  # - link_down: T1                 # why: "echo test failed", count
  # - host_log: "format error"
  # - fault_fired: lost-answer
  # - pending_reversals: T1         # count: 0 (the default)
  - host_ledger: {approved: 3, declined: 0, reversed: 2}
  - terminal_outcomes: {approved: 2, timeout_reversed: 2}
  - accounts_agree: true            # the host's account and the terminals' receipts match
  - no_duplicate_charge: true
`
