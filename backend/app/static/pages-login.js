// 登录 (phone number and SMS code) and 实名认证 (name and identity number against the registry).

import { api, go, idNumberChecks, session } from "./api.js";

const { ref, computed, onMounted, onBeforeUnmount } = Vue;

const PHONE = /^1[3-9]\d{9}$/;
const ID_NUMBER = /^\d{17}[\dX]$/;

function safeNext(next) {
  // only a route of this mini-app, never another site
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

// After log-in or binding: who the citizen is, for the greeting (name shown, numbers masked).
async function loadMe() {
  const me = await api("/api/v1/citizen/me", { auth: true });
  session.update({ name: me.name, id_number_masked: me.id_number_masked });
  return me;
}

export const Login = {
  props: ["params", "query"],
  template: `
    <div class="login">
      <van-notice-bar v-if="notice" left-icon="info-o" :text="notice" wrapable></van-notice-bar>
      <h2 class="page-title">手机号验证码登录</h2>
      <van-form @submit="login">
        <van-cell-group inset>
          <van-field v-model="phone" name="phone" label="手机号" type="tel" maxlength="11"
                     placeholder="请输入 11 位手机号" :error-message="phoneError" clearable></van-field>
          <van-field v-model="code" name="code" label="验证码" type="digit" maxlength="6"
                     placeholder="6 位短信验证码" clearable>
            <template #button>
              <van-button size="small" type="primary" plain :disabled="countdown > 0 || sending"
                          :loading="sending" native-type="button" @click="sendCode">
                {{ countdown > 0 ? countdown + ' 秒后重发' : '获取验证码' }}
              </van-button>
            </template>
          </van-field>
        </van-cell-group>
        <p v-if="sentTo" class="hint">验证码已发送至 {{ sentTo }}，{{ Math.round(ttl / 60) }} 分钟内有效</p>
        <p v-if="error" class="error-text" role="alert">{{ error }}</p>
        <div class="action-bar">
          <van-button round block type="primary" size="large" native-type="submit" :loading="busy">登录</van-button>
        </div>
      </van-form>
      <p class="hint small">登录即表示您同意《用户服务协议》和《隐私政策》。您的个人信息仅用于办理政务服务。</p>
    </div>`,
  setup(props) {
    const phone = ref("");
    const code = ref("");
    const error = ref("");
    const sending = ref(false);
    const busy = ref(false);
    const countdown = ref(0);
    const ttl = ref(300);
    const sentTo = ref("");
    const notice = ref(session.takeNotice() || "");
    let timer = null;

    const phoneError = computed(() =>
      phone.value.length === 11 && !PHONE.test(phone.value) ? "手机号格式不正确" : ""
    );

    function tick(seconds) {
      countdown.value = seconds;
      clearInterval(timer);
      timer = setInterval(() => {
        countdown.value -= 1;
        if (countdown.value <= 0) clearInterval(timer);
      }, 1000);
    }
    onBeforeUnmount(() => clearInterval(timer));

    async function sendCode() {
      error.value = "";
      if (!PHONE.test(phone.value)) {
        error.value = "请输入正确的 11 位手机号";
        return;
      }
      sending.value = true;
      try {
        const sent = await api("/api/v1/app/auth/sms-code", { method: "POST", body: { phone: phone.value } });
        ttl.value = sent.expires_in_s;
        sentTo.value = phone.value.slice(0, 3) + "****" + phone.value.slice(7);
        tick(60);
      } catch (err) {
        error.value = err.message;
      } finally {
        sending.value = false;
      }
    }

    async function login() {
      error.value = "";
      if (!PHONE.test(phone.value)) {
        error.value = "请输入正确的 11 位手机号";
        return;
      }
      if (!/^\d{6}$/.test(code.value)) {
        error.value = "请输入 6 位数字验证码";
        return;
      }
      busy.value = true;
      try {
        const res = await api("/api/v1/app/auth/login", {
          method: "POST",
          body: { phone: phone.value, code: code.value },
        });
        session.set({
          token: res.token,
          expires_at: res.expires_at,
          phone_masked: res.account.phone_masked,
          citizen_id: res.account.citizen_id,
        });
        const next = safeNext(props.query.next);
        if (!res.account.citizen_id) {
          go("/real-name?next=" + encodeURIComponent(next), { replace: true });
          return;
        }
        await loadMe();
        vant.showSuccessToast("登录成功");
        go(next, { replace: true });
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }

    return { phone, code, error, sending, busy, countdown, ttl, sentTo, notice, phoneError, sendCode, login };
  },
};

// 实名认证 in two steps. Name and identity number alone never bind: if this phone is the number
// registered to that identity, its log-in already proved it and the answer is "bound"; else the
// backend names the registered number (masked) and a code sent to it must come back here.
export const RealName = {
  props: ["params", "query"],
  template: `
    <div class="login">
      <h2 class="page-title">实名认证</h2>
      <template v-if="!offer">
        <p class="hint">按国家规定，办理政务服务前需核验您的真实身份。信息将与人口库比对，并加密保存。</p>
        <van-form @submit="bind">
          <van-cell-group inset>
            <van-field v-model="name" name="name" label="姓名" placeholder="与身份证一致" maxlength="50" clearable></van-field>
            <van-field v-model="idNumber" name="id_number" label="身份证号" placeholder="18 位居民身份证号码"
                       maxlength="18" clearable @update:model-value="v => idNumber = v.toUpperCase()"></van-field>
          </van-cell-group>
          <van-checkbox v-model="agreed" class="agree" shape="square">本人承诺提供的信息真实有效</van-checkbox>
          <p v-if="error" class="error-text" role="alert">{{ error }}</p>
          <div class="action-bar">
            <van-button round block type="primary" size="large" native-type="submit" :loading="busy">提交认证</van-button>
          </div>
        </van-form>
      </template>
      <template v-else>
        <div class="proof-box" v-if="smsTo">
          <van-icon name="shield-o" size="28"></van-icon>
          <p>为保护您的个人信息，请验证您在人口库登记的手机号</p>
          <p class="proof-phone" data-test="registered-phone">{{ smsTo }}</p>
          <p class="hint small">验证码将发送到该手机号。验证通过后，本机（{{ ownPhone }}）即可查看您的办件和证照，登记手机号也会收到绑定提醒。</p>
        </div>
        <van-cell-group inset v-if="smsTo">
          <van-field v-model="code" name="code" label="验证码" type="digit" maxlength="6"
                     placeholder="登记手机号收到的 6 位验证码" clearable>
            <template #button>
              <van-button size="small" type="primary" plain :disabled="countdown > 0 || sending"
                          :loading="sending" native-type="button" @click="sendCode">
                {{ countdown > 0 ? countdown + ' 秒后重发' : (challengeId ? '重新获取' : '获取验证码') }}
              </van-button>
            </template>
          </van-field>
        </van-cell-group>
        <p v-if="sentAt" class="hint">验证码已发送至 {{ smsTo }}，{{ Math.round(ttl / 60) }} 分钟内有效</p>
        <p v-if="!smsTo" class="error-text" role="alert">人口库中没有您登记的手机号，无法在手机上完成绑定。请携带身份证到自助终端或政务服务窗口办理。</p>
        <p v-if="error" class="error-text" role="alert">{{ error }}</p>
        <div class="action-bar">
          <van-button v-if="smsTo" round block type="primary" size="large" :loading="busy" @click="confirm">确认绑定</van-button>
          <van-button round block plain size="large" @click="restart">返回修改</van-button>
        </div>
        <p class="hint small">登记手机号已停用或不在身边？请携带身份证到自助终端或政务服务窗口更新后再绑定。</p>
      </template>
    </div>`,
  setup(props) {
    const name = ref("");
    const idNumber = ref("");
    const agreed = ref(false);
    const error = ref("");
    const busy = ref(false);
    const offer = ref(null); // the backend's answer when a proof must follow
    const code = ref("");
    const challengeId = ref("");
    const sending = ref(false);
    const sentAt = ref(0);
    const ttl = ref(300);
    const countdown = ref(0);
    const ownPhone = (session.get() || {}).phone_masked || "";
    let timer = null;
    onBeforeUnmount(() => clearInterval(timer));
    onMounted(() => {
      const s = session.get();
      if (s && s.citizen_id) go(safeNext(props.query.next), { replace: true });
    });
    const smsTo = computed(() => {
      const sms = offer.value && offer.value.proofs.find((p) => p.method === "sms");
      return sms ? sms.phone_masked : "";
    });

    function done(res) {
      session.update({ citizen_id: res.citizen_id, name: res.name, id_number_masked: res.id_number_masked });
      idNumber.value = ""; // the full number leaves the page as soon as it has been used
      vant.showSuccessToast("认证成功");
      go(safeNext(props.query.next), { replace: true });
    }

    async function bind() {
      error.value = "";
      if (!name.value.trim()) return (error.value = "请输入姓名");
      if (!ID_NUMBER.test(idNumber.value)) return (error.value = "请输入正确的 18 位身份证号码");
      if (!idNumberChecks(idNumber.value)) return (error.value = "身份证号码校验位不正确，请核对后重新输入");
      if (!agreed.value) return (error.value = "请先勾选承诺");
      busy.value = true;
      try {
        const res = await api("/api/v1/app/real-name", {
          method: "POST",
          auth: true,
          body: { name: name.value.trim(), id_number: idNumber.value },
        });
        if (res.bound) return done(res);
        offer.value = res;
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }

    async function sendCode() {
      error.value = "";
      sending.value = true;
      try {
        const sent = await api("/api/v1/app/real-name/sms-code", {
          method: "POST",
          auth: true,
          body: { name: name.value.trim(), id_number: idNumber.value },
        });
        challengeId.value = sent.challenge_id;
        ttl.value = sent.expires_in_s;
        sentAt.value = Date.now();
        countdown.value = 60;
        clearInterval(timer);
        timer = setInterval(() => {
          countdown.value -= 1;
          if (countdown.value <= 0) clearInterval(timer);
        }, 1000);
      } catch (err) {
        error.value = err.message;
      } finally {
        sending.value = false;
      }
    }

    async function confirm() {
      error.value = "";
      if (!challengeId.value) return (error.value = "请先获取验证码");
      if (!/^\d{6}$/.test(code.value)) return (error.value = "请输入 6 位数字验证码");
      busy.value = true;
      try {
        const res = await api("/api/v1/app/real-name/confirm", {
          method: "POST",
          auth: true,
          body: { challenge_id: challengeId.value, code: code.value },
        });
        done(res);
      } catch (err) {
        error.value = err.message;
        code.value = "";
      } finally {
        busy.value = false;
      }
    }

    function restart() {
      offer.value = null;
      code.value = "";
      challengeId.value = "";
      sentAt.value = 0;
      error.value = "";
    }

    return {
      name, idNumber, agreed, error, busy, bind, offer, smsTo, ownPhone,
      code, challengeId, sending, sentAt, ttl, countdown, sendCode, confirm, restart,
    };
  },
};
