# The 20-rule script of issue 16's measurement: what a person's filter looks
# like (list and sender tests, subaddress, a subject match with a variable, a
# body test, flags, a size test). None of the rules matches the bench message
# (../shared/peers/make_msg.py), so every test runs and the message is kept in
# INBOX. Read by bench/smtp/sieve_cost.sh (Postern) and
# bench/smtp/sieve_peer.sh (Dovecot's Pigeonhole), so both run the same rules.
require ["fileinto", "imap4flags", "envelope", "subaddress", "variables", "body", "mailbox"];
if header :contains "List-Id" "rust-lang" { fileinto :create "Lists/rust-lang"; stop; }
if header :contains "List-Id" "debian-devel" { fileinto :create "Lists/debian-devel"; stop; }
if header :contains "List-Id" "lkml" { fileinto :create "Lists/lkml"; stop; }
if header :contains "List-Id" "postgres" { fileinto :create "Lists/postgres"; stop; }
if header :contains "List-Id" "golang" { fileinto :create "Lists/golang"; stop; }
if header :contains "List-Id" "python-dev" { fileinto :create "Lists/python-dev"; stop; }
if header :contains "List-Id" "openbsd-misc" { fileinto :create "Lists/openbsd-misc"; stop; }
if header :contains "List-Id" "nginx" { fileinto :create "Lists/nginx"; stop; }
if address :is "from" "boss@work.test" { addflag "\\Flagged"; fileinto :create "Work"; stop; }
if address :is "from" "hr@work.test" { addflag "\\Flagged"; fileinto :create "Work"; stop; }
if address :is "from" "billing@shop.test" { addflag "\\Flagged"; fileinto :create "Work"; stop; }
if address :is "from" "alerts@monitor.test" { addflag "\\Flagged"; fileinto :create "Work"; stop; }
if envelope :detail "to" "shopping" { fileinto :create "Shopping"; stop; }
if envelope :detail "to" "travel" { fileinto :create "Travel"; stop; }
if header :matches "subject" "[ticket #*]*" { set "n" "${1}"; fileinto :create "Tickets"; stop; }
if header :contains "subject" ["invoice", "receipt"] { addflag "$Invoice"; }
if header :contains "x-priority" "1" { addflag "\\Flagged"; }
if exists "x-newsletter" { fileinto :create "Newsletters"; stop; }
if size :over 5M { addflag "$Large"; }
if body :text :contains "unsubscribe from this list" { fileinto :create "Bulk"; stop; }
