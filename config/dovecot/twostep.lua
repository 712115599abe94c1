-- TwoStep passdb for Dovecot 2.3 (dovecot-auth-lua): every IMAP, POP3 and submission login
-- is decided by TwoStep's HTTP service at /auth/dovecot, so Dovecot applies the same rules
-- (app passwords, password followed by the verification code, login grants, throttling)
-- as TwoStep's other front doors.
--
-- Settings come from the environment of Dovecot's auth processes (see twostep-lua.conf.ext):
--   TWOSTEP_AUTH_URL  the endpoint (default http://127.0.0.1:8025/auth/dovecot)
--   TWOSTEP_KEY_FILE  a file holding the shared key printed by `npx twostep auth-key`
--                     (default /etc/dovecot/twostep.key; readable by the auth worker, root by default)
--
-- Results: HTTP 200 -> OK, 401 -> password mismatch (the client sees [AUTHENTICATIONFAILED]),
-- anything else -> internal failure (the client sees [UNAVAILABLE]). The reply never says
-- which part of the credential was wrong.

local client = nil
local url = os.getenv("TWOSTEP_AUTH_URL") or "http://127.0.0.1:8025/auth/dovecot"
local key_file = os.getenv("TWOSTEP_KEY_FILE") or "/etc/dovecot/twostep.key"
local key = nil

local function form_escape(value)
  return (tostring(value or ""):gsub("[^%w%-_%.~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

-- Reads the key on first use: the auth worker that runs this passdb may differ from the
-- process that loaded the script.
local function load_key()
  if key ~= nil then
    return key
  end
  local file = io.open(key_file, "r")
  if file == nil then
    return nil
  end
  local text = file:read("*l")
  file:close()
  if text ~= nil and text ~= "" then
    key = text:gsub("%s+$", "")
  end
  return key
end

function script_init()
  client = dovecot.http.client({
    user_agent = "twostep-dovecot-lua",
    connect_timeout_msecs = 2000,
    -- TwoStep delays a rejection after repeated failures (up to [throttle] max_delay, 30 s by
    -- default) and gives the password check [backend] timeout: wait longer than both.
    request_timeout_msecs = 40000,
    max_attempts = 1,
  })
  return 0
end

function auth_password_verify(req, password)
  local shared_key = load_key()
  if shared_key == nil then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "cannot read the TwoStep key file " .. key_file
  end

  local request = client:request({ url = url, method = "POST" })
  request:add_header("Content-Type", "application/x-www-form-urlencoded")
  request:add_header("Accept", "text/plain")
  request:add_header("X-TwoStep-Key", shared_key)
  request:set_payload("user=" .. form_escape(req.user) ..
    "&password=" .. form_escape(password) ..
    "&remote_ip=" .. form_escape(req.remote_ip) ..
    "&service=" .. form_escape(req.service))
  local response = request:submit()
  local status = response:status()

  if status == 200 then
    -- The body is the password without the verification code: `pass` hands it to the
    -- passdbs and proxy settings that follow, so none of them ever sees a code.
    return dovecot.auth.PASSDB_RESULT_OK, { pass = response:payload() }
  end
  if status == 401 then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "TwoStep rejected the login"
  end
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "TwoStep auth service returned HTTP " .. status .. " " .. (response:reason() or "")
end
