# Sourced by score_load.sh and ledger_load.sh: the score requests both load runs send.
#
# consented_score_bodies BASE_URL KEY WORK: registers a consent (signed yesterday, valid 300
# days, within consent.max_term_days) for every subject in WORK/subjects.txt through the
# running server, and writes one score request per subject to WORK/bodies.txt.
consented_score_bodies() {
  local base=$1 key=$2 work=$3 subject consent evidence signed valid
  evidence=$(printf 'a%.0s' $(seq 64))
  signed=$(date -u -d 'yesterday' +%Y-%m-%dT00:00:00Z); valid=$(date -u -d '+300 days' +%Y-%m-%d)
  : > "$work/bodies.txt"
  while read -r subject; do
    consent=$(curl -s "$base/v1/consents" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d "{\"subject\":\"$subject\",\"purpose\":\"loan_application\",\"valid_until\":\"$valid\",\"evidence_sha256\":\"$evidence\",\"signed_at\":\"$signed\"}" \
      | sed -E 's/.*"consent_id":"([^"]+)".*/\1/')
    echo "{\"product\":\"sme\",\"subject\":\"$subject\",\"purpose\":\"loan_application\",\"consent_id\":\"$consent\"}" >> "$work/bodies.txt"
  done < "$work/subjects.txt"
}

# score_lua KEY WORK: writes WORK/score.lua, the wrk script that cycles through WORK/bodies.txt.
score_lua() {
  local key=$1 work=$2
  cat > "$work/score.lua" <<LUA
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
bodies = {}
for line in io.lines("$work/bodies.txt") do bodies[#bodies + 1] = line end
i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA
}
