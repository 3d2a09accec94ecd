-- wrk script: a weighted mix of requests read from a manifest (scripts/loadtest writes it).
-- LITESERVE_MIX names the manifest; each line: WEIGHT METHOD PATH BODYFILE|- HEADER...
-- (headers as Name:Value, no spaces).  Every request in the mix is a valid one, so any
-- answer outside 2xx counts as a failure (non2xx; the first few are printed on stderr).
local manifest = os.getenv("LITESERVE_MIX")
local reqs = {}
local order = {}

local function read_all(path)
	local f = assert(io.open(path, "rb"), "cannot open " .. path)
	local b = f:read("*all")
	f:close()
	return b
end

for line in io.lines(manifest) do
	if line:sub(1, 1) ~= "#" and line:match("%S") then
		local fields = {}
		for w in line:gmatch("%S+") do fields[#fields + 1] = w end
		local weight, method, path, bodyfile = tonumber(fields[1]), fields[2], fields[3], fields[4]
		local headers = {}
		for i = 5, #fields do
			local k, v = fields[i]:match("^([^:]+):(.*)$")
			headers[k] = v
		end
		local body = nil
		if bodyfile ~= "-" then body = read_all(bodyfile) end
		-- built once: wrk.format makes the whole request text
		reqs[#reqs + 1] = wrk.format(method, path, headers, body)
		for _ = 1, weight do order[#order + 1] = #reqs end
	end
end

-- each thread starts at a different point of the cycle so the mix is spread over time
local pos = 0
local threads = {}
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("id", counter)
	table.insert(threads, thread)
end

function init(args)
	pos = (id or 0) * 7
	non2xx = 0
	sent = 0
end

function request()
	pos = pos % #order + 1
	sent = sent + 1
	return reqs[order[pos]]
end

function response(status, headers, body)
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
		if non2xx <= 3 then
			io.stderr:write(string.format("non-2xx %d: %s\n", status, (body or ""):sub(1, 200)))
		end
	end
end

function done(summary, latency, requests)
	local bad = 0
	for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
	io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
		bad))
end
