#!/usr/bin/env bash
# LinkedIn documents (PDF carousels) through the Documents API, against the
# sandbox's LinkedIn imitation and its media host, with real nats-server,
# PostgreSQL and services. The publisher downloads the PDF (at most 100 MB),
# asks LinkedIn for an upload URL, PUTs the whole file, waits until the
# document is AVAILABLE and posts it as content.media {title, id}.
#   a 3 MB PDF imported with alt_text: its first PUT stored, then answered
#     502; PROCESSING for 2 polls -> published once, in one attempt; the
#     sandbox got the file's exact bytes (cksum) twice at one URL, and the
#     post's title is the alt_text
#   the upload URL handed out expired (403) -> a new upload from
#     initializeUpload, published once, in one attempt; the title defaults
#     to the URL's file name
#   processing fails -> failed (permanent), no post
#   not a PDF -> failed (permanent) before LinkedIn hears of it
#   a document for X, or with an image beside it -> refused when scheduled
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="linkedin x"
SVC_TIMEOUT=10s
SVC_MAX_ATTEMPTS=4
e2e_begin

author=urn:li:person:sandbox1
account=$(svc_ctl accounts add --platform linkedin --external-id "$author" --token li-doc-token)
x_account=$(svc_ctl accounts add --platform x --external-id 1234 --token x-doc-token)

row() { stack_psql -F '|' -c "SELECT status, coalesce(error_class, ''), coalesce(error_code, ''), coalesce(error_message, '') FROM post_schedules WHERE id = '$1'"; }
status_in() { # ID STATUS...
    local st s
    st=$(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$1'")
    for s in "${@:2}"; do [[ $st == "$s" ]] && return 0; done
    return 1
}
wait_final() { stack_wait_for status_in "$1" published failed unconfirmed >/dev/null || fail "schedule $1 did not end: $(row "$1")"; }
# expect ID STATUS CLASS CODE REASON_SUBSTRING
expect() {
    local r st cls code msg
    r=$(row "$1")
    IFS='|' read -r st cls code msg <<<"$r"
    [[ $st == "$2" && $cls == "$3" && $code == "$4" && $msg == *"$5"* ]] ||
        fail "schedule $1: got '$r', expected $2|$3|$4|...$5..."
    echo "ok: $st ${cls:-(no class)} ${msg:0:100}"
}
sandbox_config() { sandbox_post /_sandbox/config "$1" >/dev/null || fail "sandbox config $1"; }
documents() { sandbox_get /_sandbox/linkedin/documents | jq -c '.documents'; }
document_count() { documents | jq length; }
posts_of() { # TEXT -> the sandbox's LinkedIn posts with that commentary (JSON array)
    sandbox_get "/_sandbox/posts?platform=linkedin" | jq -c --arg t "$1" '[.posts[] | select(.message == $t)]'
}
post() { svc_ctl schedule --account "$1" --at now --text "$2" --media "$3" --media-type document; }
file_cksum() { curl -fsS "$1" | cksum | cut -d' ' -f1; }
attempts() { stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$1'"; }
# published_once ID TEXT -> the upload (JSON) the one post names
published_once() {
    local posts
    posts=$(posts_of "$2")
    [[ $(jq length <<<"$posts") -eq 1 ]] || fail "'$2': not exactly one post: $posts"
    [[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$1'") == "$(jq -r '.[0].id' <<<"$posts")" ]] ||
        fail "'$2': the row does not name the sandbox's post"
    documents | jq -c --arg d "$(jq -r '.[0].photo_id' <<<"$posts")" '.[] | select(.document == $d)'
}

# ---- refused when scheduled: not LinkedIn, or not alone --------------------------------
out=$(post "$x_account" "a deck for X" "$SANDBOX_URL/media/deck.pdf" 2>&1) && fail "a document for X was accepted: $out"
[[ $out == *"does not take documents"* ]] || fail "X document: unclear reason: $out"
out=$(svc_ctl import /dev/stdin 2>&1 <<<"{\"account_id\":\"$account\",\"at\":\"2035-01-01T00:00:00Z\",\"text\":\"two\",\"media\":[{\"url\":\"$SANDBOX_URL/media/a.pdf\",\"type\":\"document\"},{\"url\":\"$SANDBOX_URL/media/b.png\",\"type\":\"image\"}]}") &&
    fail "a document with an image was imported: $out"
[[ $out == *"exactly one document"* ]] || fail "document + image: unclear reason: $out"
echo "ok: refused when scheduled"

svc_start scheduler
svc_start dispatcher
svc_start publisher-linkedin

# ---- a 3 MB PDF with a title: the PUT answered 502 after it was stored, slow processing -
doc_url="$SANDBOX_URL/media/q3.pdf?bytes=3000000"
sandbox_config '{"linkedin_document_put_fail":1,"linkedin_document_processing_polls":2}'
svc_ctl import /dev/stdin <<<"{\"account_id\":\"$account\",\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"text\":\"our quarter, as a deck\",\"media\":[{\"url\":\"$doc_url\",\"type\":\"document\",\"alt_text\":\"Q3 results\"}]}" >/dev/null ||
    fail "import of a document post"
doc=$(stack_psql -c "SELECT s.id FROM post_schedules s JOIN posts p ON p.id = s.post_id WHERE p.text = 'our quarter, as a deck'")
[[ -n $doc ]] || fail "the imported document post is not stored"
wait_final "$doc"
expect "$doc" published "" "" ""
up=$(published_once "$doc" "our quarter, as a deck")
[[ -n $up ]] || fail "document: the post names no uploaded document: $(documents)"
echo "document upload: $up"
[[ $(jq -r '[.status, .owner, .bytes, .puts, .title] | map(tostring) | join("|")' <<<"$up") == "AVAILABLE|$author|3000000|2|Q3 results" ]] ||
    fail "document: expected an AVAILABLE document of 3000000 bytes, PUT twice, titled 'Q3 results': $up"
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$doc_url")" ]] || fail "document: the stored bytes are not the file's"
[[ $(jq .polls <<<"$up") -eq 3 ]] || fail "document: expected 2 PROCESSING polls and a final one: $up"
[[ $(attempts "$doc") -eq 1 ]] || fail "document: the 502 cost a whole attempt instead of one resend"
[[ $(log_count publisher-linkedin linkedin_document_resend) -ge 1 ]] || fail "document: no resend logged"
sandbox_config '{"linkedin_document_put_fail":0,"linkedin_document_processing_polls":0}'

# ---- the upload URL was handed out expired: a new upload from initializeUpload ---------
before=$(document_count)
sandbox_config '{"linkedin_document_expire_uploads":1}'
exp_url="$SANDBOX_URL/media/deck.pdf?bytes=1500000"
again=$(post "$account" "a deck whose upload expired" "$exp_url")
wait_final "$again"
expect "$again" published "" "" ""
up=$(published_once "$again" "a deck whose upload expired")
new=$(documents | jq -c ".[$before:]")
[[ $(jq -r 'map(.status + ":" + (.expired | tostring) + ":" + (.puts | tostring)) | join(",")' <<<"$new") == "WAITING_UPLOAD:true:1,AVAILABLE:false:1" ]] ||
    fail "expired: expected an expired upload (one refused PUT), then an available one: $new"
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$exp_url")" ]] || fail "expired: the bytes differ"
[[ $(jq -r .title <<<"$up") == deck.pdf ]] || fail "expired: the default title is not the file name: $up"
[[ $(log_count publisher-linkedin linkedin_document_restart) -ge 1 ]] || fail "expired: no restart logged"
[[ $(attempts "$again") -eq 1 ]] || fail "expired: the restart cost a whole attempt"
sandbox_config '{"linkedin_document_expire_uploads":0}'

# ---- processing fails: no post ---------------------------------------------------------
sandbox_config '{"linkedin_document_processing_fail":true,"linkedin_document_processing_polls":1}'
bad=$(post "$account" "a deck LinkedIn cannot process" "$SANDBOX_URL/media/broken.pdf?bytes=4000")
wait_final "$bad"
expect "$bad" failed permanent media_processing_failed "could not process the document"
[[ $(posts_of "a deck LinkedIn cannot process" | jq length) -eq 0 ]] || fail "processing failed: a post was made"
[[ $(documents | jq -r '.[-1].status') == PROCESSING_FAILED ]] || fail "processing failed: the last document is not failed: $(documents)"
sandbox_config '{"linkedin_document_processing_fail":false,"linkedin_document_processing_polls":0}'

# ---- refused before LinkedIn hears of it: not a PDF ------------------------------------
before=$(document_count)
txt=$(post "$account" "a text file as a deck" "$SANDBOX_URL/media/notes.txt?bytes=3000")
wait_final "$txt"
expect "$txt" failed permanent media_type "not a PDF document"
[[ $(document_count) -eq $before ]] || fail "a refused document reached LinkedIn's upload: $(documents)"
[[ $(posts_of "a text file as a deck" | jq length) -eq 0 ]] || fail "not a PDF: a post was made"

e2e_finish
pass "LinkedIn document: uploaded, resent, restarted, refused and published exactly once"
