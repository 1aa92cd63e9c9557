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

export const RealName = {
  props: ["params", "query"],
  template: `
    <div class="login">
      <h2 class="page-title">实名认证</h2>
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
    </div>`,
  setup(props) {
    const name = ref("");
    const idNumber = ref("");
    const agreed = ref(false);
    const error = ref("");
    const busy = ref(false);
    onMounted(() => {
      const s = session.get();
      if (s && s.citizen_id) go(safeNext(props.query.next), { replace: true });
    });
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
        session.update({ citizen_id: res.citizen_id, name: res.name, id_number_masked: res.id_number_masked });
        idNumber.value = ""; // the full number leaves the page as soon as it has been used
        vant.showSuccessToast("认证成功");
        go(safeNext(props.query.next), { replace: true });
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }
    return { name, idNumber, agreed, error, busy, bind };
  },
};
