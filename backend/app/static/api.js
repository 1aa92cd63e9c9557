// The one door to the backend: the citizen's session, requests, and Chinese error messages.
//
// The token lives in sessionStorage (gone when the tab closes; never in localStorage, which
// outlives the visit on a shared phone). A 401 on an authenticated call means the token
// expired or was revoked: the session is dropped and the citizen is sent to log in again.

const KEY = "zwfw.session";

export const session = {
  get() {
    try {
      const s = JSON.parse(sessionStorage.getItem(KEY) || "null");
      if (s && s.expires_at && Date.parse(s.expires_at) <= Date.now()) {
        this.clear("登录已过期，请重新登录");
        return null;
      }
      return s;
    } catch {
      return null;
    }
  },
  set(value) {
    sessionStorage.setItem(KEY, JSON.stringify(value));
  },
  update(changes) {
    const s = this.get();
    if (s) this.set({ ...s, ...changes });
  },
  clear(reason) {
    sessionStorage.removeItem(KEY);
    if (reason) sessionStorage.setItem(KEY + ".notice", reason);
  },
  // a message to show once on the log-in page (why the citizen is there)
  takeNotice() {
    const n = sessionStorage.getItem(KEY + ".notice");
    sessionStorage.removeItem(KEY + ".notice");
    return n;
  },
};

export class ApiError extends Error {
  constructor(status, message, reason) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

const FIELD_NAMES = {
  phone: "手机号码",
  code: "验证码",
  name: "姓名",
  id_number: "身份证号码",
  text: "问题内容",
  comment: "评价内容",
  level: "评分",
  reasons: "评价原因",
  form: "申请信息",
  materials: "申请材料",
  q: "搜索词",
};

const STATUS_TEXT = {
  400: "请求有误，请检查后重试",
  401: "请先登录",
  403: "没有权限进行此操作",
  404: "没有找到相关信息",
  409: "当前状态下不能进行此操作",
  413: "提交的内容过大",
  422: "填写的内容有误，请检查后重试",
  429: "操作过于频繁，请稍后再试",
  503: "服务暂时不可用，请稍后再试",
};

const HAS_CHINESE = /[\u4e00-\u9fff]/;
const HAS_ENGLISH = /[A-Za-z]{4,}/; // a word, not a code such as RIC-110105 or Q2001

// what to say for a refusal whose message is not fit to show as it is
const REASON_TEXT = {
  bad_id_number: "身份证号码无效，请核对后重新输入",
  bad_phone: "手机号码应为 11 位数字，以 1 开头",
  real_name_mismatch: "姓名与身份证号码不匹配，或不在人口库中",
};

function readable(text) {
  return typeof text === "string" && HAS_CHINESE.test(text) && !HAS_ENGLISH.test(text);
}

// Turn an error answer into one Chinese sentence: never a stack, never an English JSON blob.
export function messageOf(status, body) {
  const detail = body && body.detail;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    if (readable(detail.message)) return detail.message;
    if (REASON_TEXT[detail.reason]) return REASON_TEXT[detail.reason];
  }
  if (readable(detail)) return detail;
  if (Array.isArray(detail) && detail.length) {
    const loc = detail[0].loc || [];
    const field = [...loc].reverse().find((p) => FIELD_NAMES[p]);
    if (field) return `${FIELD_NAMES[field]}格式不正确，请检查后重试`;
  }
  if (status === 403 && typeof detail === "string" && detail.includes("real-name")) {
    return "请先完成实名认证";
  }
  return STATUS_TEXT[status] || (status >= 500 ? "服务暂时不可用，请稍后再试" : "操作未成功，请稍后再试");
}

let onExpired = () => {};
// main.js tells us how to send the citizen back to log-in
export function whenExpired(handler) {
  onExpired = handler;
}

export async function api(path, { method = "GET", body, auth = false, query } = {}) {
  const headers = { Accept: "application/json" };
  const s = auth ? session.get() : null;
  if (auth) {
    if (!s) {
      onExpired("请先登录");
      throw new ApiError(401, "请先登录", "no_session");
    }
    headers.Authorization = `Bearer ${s.token}`;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== "") params.set(k, v);
    }
    const qs = params.toString();
    if (qs) url += "?" + qs;
  }
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "网络连接失败，请检查网络后重试", "network");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return data;
  if (response.status === 401 && auth) {
    session.clear("登录已失效，请重新登录");
    onExpired("登录已失效，请重新登录");
  }
  const reason = data && data.detail && data.detail.reason;
  throw new ApiError(response.status, messageOf(response.status, data), reason);
}

// ---- small display helpers shared by the pages ----

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso.endsWith("Z") || iso.includes("+") ? iso : iso + "Z");
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function formatDate(iso) {
  return iso ? formatTime(iso).slice(0, 10) : "";
}

// Vant tag colours for application states: waiting is blue, good is green, bad is red.
export function stateTagType(state) {
  if (state === "approved" || state === "delivered") return "success";
  if (state === "rejected") return "danger";
  if (state === "more_material_needed" || state === "unmatched") return "warning";
  return "primary";
}

export const CONCLUDED = ["approved", "rejected", "delivered"];

// Navigation within the one page (hash routes; main.js renders them).
export function go(target, { replace = false } = {}) {
  if (replace) location.replace("#" + target);
  else location.hash = target;
}

// GB 11643: the 18th character of a resident identity number checks the first 17, so a
// mistyped number is caught on the phone, in plain words, before it is sent anywhere.
export function idNumberChecks(number) {
  if (!/^\d{17}[\dX]$/.test(number)) return false;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(number[i]), 0);
  return "10X98765432"[sum % 11] === number[17];
}

// Re-run `load` every `ms` while the page is on screen, until it returns true (done) or the
// caller stops it. Each read of a citizen's data is audited, so a hidden tab asks nothing.
export function poll(load, ms) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (document.visibilityState === "visible" && (await load()) === true) return stop();
    timer = setTimeout(tick, ms);
  };
  function stop() {
    stopped = true;
    clearTimeout(timer);
  }
  timer = setTimeout(tick, ms);
  return stop;
}
