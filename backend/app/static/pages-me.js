// 我的 (who is logged in, masked; log-out), 我的消息 (the citizen's notifications) and
// 已绑定手机 (the phones bound to the citizen; any of them can be unbound from here).

import { api, go, session, formatTime } from "./api.js";

const { ref, onMounted } = Vue;

export const Me = {
  props: ["params", "query"],
  template: `
    <div class="me">
      <div class="hero" v-if="s">
        <van-icon name="manager" size="48"></van-icon>
        <h2 data-test="name">{{ s.name || '未实名' }}</h2>
        <p>{{ s.id_number_masked || '' }}</p>
        <p>{{ s.phone_masked }}</p>
      </div>
      <div class="hero" v-else>
        <p>登录后查看办件、证照和消息</p>
        <van-button round type="primary" @click="login">登录 / 注册</van-button>
      </div>
      <van-cell-group inset>
        <van-cell title="我的办件" icon="orders-o" is-link @click="goto('/applications')"></van-cell>
        <van-cell title="我的证照" icon="idcard" is-link @click="goto('/licences')"></van-cell>
        <van-cell title="我的消息" icon="bell" is-link @click="goto('/messages')"></van-cell>
        <van-cell v-if="s && s.citizen_id" title="已绑定手机" icon="phone-o" is-link @click="goto('/bindings')"></van-cell>
        <van-cell title="我要问" icon="question-o" is-link @click="goto('/ask')"></van-cell>
        <van-cell title="我要评" icon="star-o" is-link @click="goto('/rate')"></van-cell>
        <van-cell v-if="s && !s.citizen_id" title="去实名认证" icon="shield-o" is-link @click="goto('/real-name')"></van-cell>
      </van-cell-group>
      <div class="action-bar" v-if="s">
        <van-button round block plain type="danger" size="large" @click="logout">退出登录</van-button>
      </div>
    </div>`,
  setup() {
    const s = ref(session.get());
    async function logout() {
      try {
        await api("/api/v1/app/auth/logout", { method: "POST", auth: true });
      } catch {
        // already expired: dropping it here is all that is left to do
      }
      session.clear();
      s.value = null;
      vant.showToast("已退出登录");
      go("/", { replace: true });
    }
    return {
      s,
      logout,
      goto: (p) => go(p),
      login: () => go("/login?next=/me"),
    };
  },
};

export const Messages = {
  props: ["params", "query"],
  template: `
    <div>
      <van-pull-refresh v-model="refreshing" @refresh="load" pulling-text="下拉刷新" loosing-text="释放刷新" loading-text="正在刷新…">
      <van-empty v-if="loaded && !items.length && !error" description="暂无消息"></van-empty>
      <van-cell-group inset>
        <van-cell v-for="n in items" :key="n.id" :title="n.title" :label="n.body + ' · ' + time(n.created_at)"
                  :is-link="n.kind === 'application' || n.kind === 'question'" class="message" @click="open(n)"></van-cell>
      </van-cell-group>
      </van-pull-refresh>
      <p v-if="error" class="error-text">{{ error }}</p>
    </div>`,
  setup() {
    const items = ref([]);
    const loaded = ref(false);
    const error = ref("");
    const refreshing = ref(false);
    async function load() {
      try {
        items.value = await api("/api/v1/citizen/notifications", { auth: true });
      } catch (err) {
        error.value = err.message;
      } finally {
        loaded.value = true;
        refreshing.value = false;
      }
    }
    onMounted(load);
    return {
      refreshing,
      load,
      items,
      loaded,
      error,
      time: formatTime,
      // a notice about an application names its receipt number; one about a question, the question
      open: (n) => {
        if (n.kind === "application" && n.reference) go("/applications/" + encodeURIComponent(n.reference));
        else if (n.kind === "question") go("/ask");
      },
    };
  },
};

const PROOF_TEXT = {
  login_phone: "登记手机号登录",
  sms: "登记手机号验证码",
  face: "人脸核验",
};

export const Bindings = {
  props: ["params", "query"],
  template: `
    <div>
      <p class="hint">以下手机可以查看您的办件、证照和消息，<template v-if="max">最多可绑定 {{ max }} 部。</template>如有不认识的手机，请立即解除绑定，解除后该手机马上退出登录。</p>
      <van-empty v-if="loaded && !items.length && !error" description="暂无已绑定的手机"></van-empty>
      <div class="cards">
        <div class="card binding" v-for="b in items" :key="b.id" data-test="binding">
          <div class="binding-head">
            <span class="binding-phone">{{ b.phone_masked }}</span>
            <van-tag v-if="b.current" type="primary" plain>本机</van-tag>
          </div>
          <p class="binding-line">绑定方式：{{ proof(b.proof) }}</p>
          <p class="binding-line">绑定时间：{{ time(b.bound_at) }}</p>
          <p class="binding-line">最近使用：{{ b.last_used_at ? time(b.last_used_at) : '尚未使用' }}</p>
          <van-button size="small" round plain type="danger" :loading="busy === b.id" @click="revoke(b)">解除绑定</van-button>
        </div>
      </div>
      <p v-if="error" class="error-text" role="alert">{{ error }}</p>
    </div>`,
  setup() {
    const items = ref([]);
    const loaded = ref(false);
    const error = ref("");
    const busy = ref("");
    const max = ref(0);
    async function load() {
      try {
        const res = await api("/api/v1/citizen/bindings", { auth: true });
        items.value = [...res.items].sort((a, b) => b.current - a.current); // 本机 first
        max.value = res.max_phones;
      } catch (err) {
        error.value = err.message;
      } finally {
        loaded.value = true;
      }
    }
    async function revoke(b) {
      const message = b.current
        ? "解除后本机将立即退出登录，再次使用需重新验证身份。"
        : `解除后手机 ${b.phone_masked} 将立即退出登录，无法再查看您的信息。`;
      try {
        await vant.showConfirmDialog({
          title: "解除绑定",
          message,
          confirmButtonText: "解除绑定",
          confirmButtonColor: "#c62828",
          cancelButtonText: "取消",
        });
      } catch {
        return; // 取消
      }
      busy.value = b.id;
      error.value = "";
      try {
        await api("/api/v1/citizen/bindings/" + encodeURIComponent(b.id), { method: "DELETE", auth: true });
        if (b.current) {
          session.clear("本机已解除绑定，请重新登录");
          go("/login", { replace: true });
          return;
        }
        vant.showSuccessToast("已解除绑定");
        await load();
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = "";
      }
    }
    onMounted(load);
    return { items, loaded, error, busy, revoke, max, time: formatTime, proof: (p) => PROOF_TEXT[p] || p };
  },
};
