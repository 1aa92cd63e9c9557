// 一件事一次办: a life event's items and one merged material list, applied for in one go.
// Each item becomes its own application (each department decides its own) under one
// bundle number; items that must be done on site are listed with where to go.

import { api, go, stateTagType } from "./api.js";
import { materialRows, missingMaterials } from "./materials.js";

const { ref, onMounted } = Vue;

export const LifeEvent = {
  props: ["params", "query"],
  template: `
    <div v-if="event" class="life-event">
      <div class="guide-head">
        <h2>{{ event.name }}</h2>
        <p>{{ event.description }}</p>
      </div>
      <van-cell-group inset :title="'包含 ' + event.items.length + ' 个事项'">
        <van-cell v-for="i in event.items" :key="i.code" :title="i.name" :label="i.department_name" is-link @click="guide(i)">
          <template #value>
            <van-tag :type="i.online ? 'success' : 'default'" plain>{{ i.online ? '可网上办' : '需到现场' }}</van-tag>
          </template>
        </van-cell>
      </van-cell-group>
      <van-cell-group inset title="一次提交的材料（已合并去重）">
        <van-cell v-for="m in event.materials" :key="m.name" :title="m.name" :label="'用于 ' + m.for_items.length + ' 个事项'">
          <template #value>
            <van-tag :type="m.required ? 'danger' : 'default'" plain>{{ m.required ? '必交' : '选交' }}</van-tag>
          </template>
        </van-cell>
      </van-cell-group>
      <div class="action-bar">
        <van-button round block type="primary" size="large" @click="apply">一次申请</van-button>
      </div>
    </div>
    <van-empty v-else-if="error" image="error" :description="error"></van-empty>
    <van-loading v-else class="center" size="32">正在加载…</van-loading>`,
  setup(props) {
    const event = ref(null);
    const error = ref("");
    onMounted(async () => {
      try {
        event.value = await api("/api/v1/catalog/life-events/" + encodeURIComponent(props.params.code));
      } catch (err) {
        error.value = err.message;
      }
    });
    return {
      event,
      error,
      guide: (i) => go("/item/" + i.code),
      apply: () => go("/apply-event/" + props.params.code),
    };
  },
};

export const ApplyLifeEvent = {
  props: ["params", "query"],
  template: `
    <div v-if="bundle" class="bundle">
      <div class="done-box">
        <van-icon name="checked" size="56" color="#1a7f37"></van-icon>
        <h2>已一次提交 {{ bundle.applications.length }} 个事项</h2>
        <p>一件事编号：<b data-test="bundle">{{ bundle.bundle_no }}</b></p>
      </div>
      <div class="cards">
        <div v-for="a in bundle.applications" :key="a.id" class="card" @click="open(a)">
          <div class="card-head">
            <span class="card-title">{{ a.item_name }}</span>
            <van-tag :type="tagType(a.state)" size="medium">{{ a.state_name }}</van-tag>
          </div>
          <div class="card-line">申请编号：{{ a.receipt_no }}</div>
        </div>
      </div>
      <van-cell-group inset title="以下事项需到现场办理" v-if="bundle.on_site_items.length">
        <van-cell v-for="i in bundle.on_site_items" :key="i.code" :title="i.name" :label="i.location"></van-cell>
      </van-cell-group>
    </div>
    <div v-else-if="event" class="apply">
      <div class="guide-head"><h2>{{ event.name }}</h2><p>一张表、一套材料，一次提交</p></div>
      <van-cell-group inset title="申请材料">
        <van-cell v-for="m in materials" :key="m.name" :title="m.name" :label="m.label">
          <template #value>
            <van-tag v-if="m.licence" type="success">已自动调取</van-tag>
            <van-checkbox v-else v-model="m.ready" shape="square">{{ m.required ? '已备齐' : '将提交' }}</van-checkbox>
          </template>
        </van-cell>
      </van-cell-group>
      <van-cell-group inset title="联系方式">
        <van-field v-model="contact" label="联系电话" type="tel" maxlength="11" placeholder="用于办理进度联系"></van-field>
      </van-cell-group>
      <van-checkbox v-model="promise" class="agree" shape="square">本人承诺所填信息及所交材料真实有效</van-checkbox>
      <p v-if="error" class="error-text" role="alert">{{ error }}</p>
      <div class="action-bar">
        <van-button round block type="primary" size="large" :loading="busy" @click="submit">一次提交</van-button>
      </div>
    </div>
    <van-empty v-else-if="error" image="error" :description="error"></van-empty>
    <van-loading v-else class="center" size="32">正在准备申请表…</van-loading>`,
  setup(props) {
    const event = ref(null);
    const materials = ref([]);
    const contact = ref("");
    const promise = ref(false);
    const error = ref("");
    const busy = ref(false);
    const bundle = ref(null);
    onMounted(async () => {
      try {
        const [e, licences] = await Promise.all([
          api("/api/v1/catalog/life-events/" + encodeURIComponent(props.params.code)),
          api("/api/v1/citizen/licences", { auth: true }),
        ]);
        event.value = e;
        materials.value = materialRows(e.materials, licences);
      } catch (err) {
        error.value = err.message;
      }
    });
    async function submit() {
      error.value = "";
      const missing = missingMaterials(materials.value);
      if (missing) return (error.value = missing);
      if (contact.value && !/^1[3-9]\d{9}$/.test(contact.value)) return (error.value = "联系电话应为 11 位手机号");
      if (!promise.value) return (error.value = "请先勾选承诺");
      busy.value = true;
      try {
        bundle.value = await api("/api/v1/citizen/life-events/" + encodeURIComponent(props.params.code) + "/applications", {
          method: "POST",
          auth: true,
          body: {
            form: contact.value ? { contact_phone: contact.value } : {},
            materials: materials.value
              .filter((m) => m.licence || m.ready)
              .map((m) => (m.licence ? { name: m.name, licence_no: m.licence.licence_no } : { name: m.name, source: "paper" })),
          },
        });
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }
    return {
      event,
      materials,
      contact,
      promise,
      error,
      busy,
      bundle,
      submit,
      tagType: stateTagType,
      open: (a) => go("/applications/" + a.receipt_no),
    };
  },
};
