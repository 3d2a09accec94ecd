-- wrk script: POST one image to a task endpoint; report p50/p90/p99 and non-2xx counts.
-- The image path comes from the LITESERVE_IMAGE environment variable.
local path = os.getenv("LITESERVE_IMAGE")
local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
local body = f:read("*all")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = path:match("%.png$") and "image/png" or "image/jpeg"

-- non2xx lives in each thread's Lua state; done() (the main state) sums them via setup's handles
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
response = function(status, headers, body)
	if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

done = function(summary, latency, requests)
	local non2xx = 0
	for _, t in ipairs(threads) do non2xx = non2xx + (t:get("non2xx") or 0) end
	io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
		non2xx))
end
