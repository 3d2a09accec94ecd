-- wrk script: POST one image to a task endpoint; report p50/p90/p99 and non-2xx counts.
-- The image path comes from the LITESERVE_IMAGE environment variable.
local path = os.getenv("LITESERVE_IMAGE")
local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
local body = f:read("*all")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = path:match("%.png$") and "image/png" or "image/jpeg"

local non2xx = 0
response = function(status, headers, body)
	if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

done = function(summary, latency, requests)
	io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
		+ summary.errors.status, non2xx))
end
