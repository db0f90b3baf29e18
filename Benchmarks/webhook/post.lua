-- One 1 KiB JSON record per request (an LLM-call log line padded to 1024 bytes), keep-alive.
local head = '{"ts":"2026-01-01T00:00:00Z","level":"info","message":"chat completion","model":"gpt-4o-mini","prompt_tokens":812,"completion_tokens":64,"cost_usd":0.00021,"user_id":"user-42","latency_ms":930,"padding":"'
local body = head .. string.rep("x", 1024 - #head - 2) .. '"}'
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-token"
