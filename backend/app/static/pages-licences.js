// 我的证照 and one licence shown (亮证) with its QR code, which anyone can scan to verify it.

import { api, go, formatDate } from "./api.js";

const { ref, onMounted } = Vue;

const STATUS = { valid: ["有效", "success"], expired: ["已过期", "warning"], revoked: ["已注销", "danger"] };

export const Licences = {
  props: ["params", "query"],
  template: `
    <div>
      <van-empty v-if="loaded && !items.length && !error" description="暂无电子证照"></van-empty>
      <div class="cards">
        <div v-for="l in items" :key="l.licence_no" class="card licence" @click="open(l)">
          <div class="card-head">
            <span class="card-title">{{ l.title }}</span>
            <van-tag :type="status(l.status)[1]" size="medium">{{ status(l.status)[0] }}</van-tag>
          </div>
          <div class="card-line">证照编号：{{ l.licence_no }}</div>
          <div class="card-line">发证机关：{{ l.issuer }}</div>
          <div class="card-line">有效期至：{{ l.valid_until ? date(l.valid_until) : '长期' }}</div>
        </div>
      </div>
      <p v-if="error" class="error-text">{{ error }}</p>
    </div>`,
  setup() {
    const items = ref([]);
    const loaded = ref(false);
    const error = ref("");
    onMounted(async () => {
      try {
        items.value = await api("/api/v1/citizen/licences", { auth: true });
      } catch (err) {
        error.value = err.message;
      } finally {
        loaded.value = true;
      }
    });
    return {
      items,
      loaded,
      error,
      date: formatDate,
      status: (s) => STATUS[s] || [s, "default"],
      open: (l) => go("/licences/" + encodeURIComponent(l.licence_no)),
    };
  },
};

export const LicenceDocument = {
  props: ["params", "query"],
  template: `
    <div v-if="doc" class="licence-doc">
      <div class="licence-face">
        <h2>{{ doc.title }}</h2>
        <p>{{ doc.issuer }}</p>
        <van-tag :type="status(doc.status)[1]" size="large">{{ status(doc.status)[0] }}</van-tag>
      </div>
      <div class="qr-box">
        <img :src="'/app/qr/' + encodeURIComponent(doc.verification_code)" alt="证照核验二维码" class="qr" />
        <p>请出示此二维码，供核验人员扫码核验</p>
        <p class="code">核验码：{{ doc.verification_code }}</p>
      </div>
      <van-cell-group inset>
        <van-cell v-for="f in doc.fields" :key="f.label" :title="f.label" :value="f.value"></van-cell>
      </van-cell-group>
    </div>
    <van-empty v-else-if="error" image="error" :description="error"></van-empty>
    <van-loading v-else class="center" size="32">正在调取证照…</van-loading>`,
  setup(props) {
    const doc = ref(null);
    const error = ref("");
    onMounted(async () => {
      try {
        doc.value = await api("/api/v1/citizen/licences/" + encodeURIComponent(props.params.no) + "/document", {
          auth: true,
        });
      } catch (err) {
        error.value = err.message;
      }
    });
    return { doc, error, status: (s) => STATUS[s] || [s, "default"] };
  },
};
